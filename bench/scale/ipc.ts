/**
 * How bench:scale's orchestrator talks to its child processes (instance hosts and
 * observing routers): node's IPC channel, requests `{ id, op, args }` answered
 * by `{ id, ok, result | error }`, and unsolicited `{ event, ... }` messages. A
 * child exits when the channel goes (its parent died), so nothing outlives a run.
 * This is the child's side (it imports nothing with side effects); child.ts is the parent's.
 */
import { performance } from 'node:perf_hooks';

/** Wall-clock milliseconds with sub-millisecond resolution, comparable across processes on one machine. */
export const wallMs = (): number => performance.timeOrigin + performance.now();

/** How often an observing router looks at its view besides on discovery's events (observer.ts). */
export const OBSERVER_POLL_MS = 2;

export type Handlers = Record<string, (args: Record<string, unknown>) => unknown>;

/** In a child: answers the parent's requests with `handlers`; returns the event sender. */
export function serve(handlers: Handlers): (event: string, fields?: Record<string, unknown>) => void {
  const send = (m: unknown) => {
    if (process.connected) process.send!(m);
  };
  process.on('disconnect', () => process.exit(0));
  process.on('message', (m: { id: number; op: string; args: Record<string, unknown> }) => {
    const handler = handlers[m.op];
    Promise.resolve()
      .then(() => {
        if (!handler) throw new Error(`unknown op ${m.op}`);
        return handler(m.args);
      })
      .then(
        (result) => send({ id: m.id, ok: true, result }),
        (err: unknown) => send({ id: m.id, ok: false, error: err instanceof Error ? err.message : String(err) }),
      );
  });
  return (event, fields = {}) => send({ event, ...fields });
}
