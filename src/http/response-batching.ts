import type { FastifyInstance, FastifyReply } from 'fastify';

/**
 * Longest a finished response waits for the others of its event-loop turn. A turn that runs
 * longer (a large synchronous job among the requests) lets what waited go at this age.
 */
const MAX_HOLD_MS = 1;

/**
 * Writes the responses finished in one event-loop turn together at its end (setImmediate), instead
 * of each at once.
 *
 * Why: writing to a socket wakes the process reading it when that process sleeps. A client or
 * reverse proxy on the same host that is faster than kura sleeps between responses, so every
 * response paid a wake-up — on a VM an inter-processor interrupt, measured at ≈20 µs of kura's
 * CPU per request on the benchmark machine, more than the OData engine's whole share. Written in
 * a burst, one wake-up serves the whole turn. A remote client sees no change beyond the wait,
 * which is bounded by the turn (and MAX_HOLD_MS). uWebSockets "corks" its writes per turn for the
 * same reason; node's own cork() cannot do it here, as `res.end()` uncorks the socket fully.
 *
 * The hold is an onSend hook returning a promise, so a write that fails (an invalid header) is
 * still turned into an error response by Fastify, as a synchronous send would be. While a response
 * is held its reply does not count as sent (`reply.sent` looks at the socket): an async handler that
 * called `reply.send()` without returning the reply makes Fastify send once more when it resolves.
 * That second send, made while the first is held, is dropped here — without the hold Fastify would
 * not have made it.
 */
export function batchResponses(app: FastifyInstance): void {
  let held: (() => void)[] = [];
  let since = 0;
  const holding = new WeakSet<FastifyReply>();
  const release = () => {
    const now = held;
    held = [];
    for (const write of now) write();
  };
  app.addHook('onSend', (_req, reply, payload) => {
    if (holding.has(reply)) return new Promise<unknown>(() => {});
    holding.add(reply);
    if (held.length > 0 && performance.now() - since > MAX_HOLD_MS) release();
    if (held.length === 0) {
      since = performance.now();
      setImmediate(release);
    }
    return new Promise<unknown>((resolve) =>
      held.push(() => {
        // Released: a send from here on (the error answer of a write that failed) is a real one.
        holding.delete(reply);
        resolve(payload);
      }),
    );
  });
}
