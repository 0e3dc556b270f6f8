import { Registry, collectDefaultMetrics } from 'prom-client';

const DURATION_NAME = 'kura_http_request_duration_seconds';
const DURATION_HELP = 'HTTP request latency by method, route pattern and status';
const BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

interface Series {
  labels: string;
  /** Observations per bucket (not cumulative; made cumulative when rendered), the last one is +Inf. */
  counts: number[];
  sum: number;
  count: number;
}

/**
 * Prometheus metrics for one app instance (its own registry, so tests can build several apps).
 *
 * Process metrics come from prom-client. The request-duration histogram is kept here: it is
 * observed on every request, and prom-client's `observe` (label validation, sorting and hashing per
 * call) measured 5 % of a small GET's throughput; a map lookup by a plain string key costs nothing.
 * The exposition format for a histogram is small enough to write by hand.
 */
export class HttpMetrics {
  readonly registry = new Registry();
  private readonly series = new Map<string, Series>();

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'kura_' });
  }

  /** Route is the registered pattern (never the raw URL) so label cardinality stays bounded. */
  observe(method: string, route: string, status: number, seconds: number): void {
    const key = `${method} ${status} ${route}`;
    let s = this.series.get(key);
    if (!s) {
      s = { labels: `method="${escapeLabel(method)}",route="${escapeLabel(route)}",status="${status}"`, counts: new Array<number>(BUCKETS.length + 1).fill(0), sum: 0, count: 0 };
      this.series.set(key, s);
    }
    let i = 0;
    while (i < BUCKETS.length && seconds > BUCKETS[i]!) i++;
    s.counts[i]!++;
    s.sum += seconds;
    s.count++;
  }

  async render(): Promise<string> {
    return (await this.registry.metrics()) + this.renderDurations();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  private renderDurations(): string {
    const lines = [`# HELP ${DURATION_NAME} ${DURATION_HELP}`, `# TYPE ${DURATION_NAME} histogram`];
    for (const s of this.series.values()) {
      let cumulative = 0;
      BUCKETS.forEach((le, i) => {
        cumulative += s.counts[i]!;
        lines.push(`${DURATION_NAME}_bucket{${s.labels},le="${le}"} ${cumulative}`);
      });
      lines.push(`${DURATION_NAME}_bucket{${s.labels},le="+Inf"} ${s.count}`);
      lines.push(`${DURATION_NAME}_sum{${s.labels}} ${s.sum}`);
      lines.push(`${DURATION_NAME}_count{${s.labels}} ${s.count}`);
    }
    return `${lines.join('\n')}\n`;
  }
}

/** Prometheus text format: backslash, double quote and newline are escaped in label values. */
function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}
