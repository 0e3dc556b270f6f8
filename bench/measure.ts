/**
 * One measurement in its own process (see measure() in run.ts for why): argv[2] is
 * `{url, server, scenario, seconds, headers?}`; prints the figures as JSON.
 */
import autocannon from 'autocannon';
import { CONNECTIONS, headers, scenarioNamed, type Figures } from './scenarios.js';

const spec = JSON.parse(process.argv[2]!) as { url: string; server: string; scenario: string; seconds: number; headers?: Record<string, string> };
const scenario = scenarioNamed(spec.scenario, spec.headers);
let n = 0;
const result = await autocannon({
  url: spec.url,
  connections: scenario.connections ?? CONNECTIONS,
  pipelining: 1,
  duration: spec.seconds,
  requests: [
    {
      method: scenario.method,
      headers: scenario.headers ?? headers,
      setupRequest: (req) => {
        const i = n++;
        return { ...req, path: scenario.path(i), ...(scenario.body ? { body: scenario.body(i, spec.server) } : {}) };
      },
    },
  ],
});
const figures: Figures = {
  rps: result.requests.average,
  p50: result.latency.p50,
  p99: result.latency.p99,
  non2xx: result.non2xx,
  errors: result.errors + result.timeouts,
};
process.stdout.write(JSON.stringify(figures));
