/**
 * One observing router of bench:scale: a real `Router` from @hydra-ts/router,
 * and a report of when given instances appear in and vanish from its view.
 *
 *   node observer.js <redisUrl>
 *
 * Ops (see ipc.ts): watch { key, svc, id }, unwatch { key }. Events:
 * `{ event: 'seen' | 'gone', key, t, via }`, t the wall clock (ipc.ts wallMs).
 * The view is what the router routes by, `hydra.getServicePresence(svc)`. It is
 * looked at on each of discovery's membership events (via 'event': the time the
 * router learnt it) and every OBSERVER_POLL_MS besides (via 'poll'), so an observation is
 * made, at most OBSERVER_POLL_MS late, whatever events a registry build emits.
 */
import type { EventEmitter } from 'node:events';
import { pino } from 'pino';
import { Router, routerConfig } from '@hydra-ts/router';
import { OBSERVER_POLL_MS, serve, wallMs } from './ipc.js';

const [redisUrl] = process.argv.slice(2) as [string];

interface Watch {
  svc: string;
  id: string;
  present: boolean;
}

const watches = new Map<string, Watch>();
let poller: NodeJS.Timeout | undefined;

async function main(): Promise<void> {
  const defaults = await routerConfig(undefined);
  const config = { ...defaults, hydra: { ...defaults.hydra, serviceIP: '127.0.0.1', servicePort: 0, redis: { url: redisUrl } } };
  const router = await Router.start(config, { env: {}, logger: pino({ level: 'silent' }) });

  // getServicePresence is awaited: it returns the list on one registry build and a promise of it on another.
  async function look(via: 'event' | 'poll' | 'watch'): Promise<void> {
    for (const [key, w] of watches) {
      const present = (await router.hydra.getServicePresence(w.svc)).some((i) => i.instanceID === w.id);
      // Looked at after the await: a concurrent look may have reported the change already.
      if (present === w.present || watches.get(key) !== w) continue;
      w.present = present;
      emit(present ? 'seen' : 'gone', { key, t: wallMs(), via });
    }
  }

  // Membership events by name only: a registry build that emits others is still observed by the poll.
  const events = router.hydra.discovery as unknown as EventEmitter;
  for (const name of ['up', 'down']) events.on(name, () => void look('event'));

  const emit = serve({
    watch(a) {
      watches.set(String(a.key), { svc: String(a.svc), id: String(a.id), present: false });
      poller ??= setInterval(() => void look('poll'), OBSERVER_POLL_MS);
      void look('watch');
      return true;
    },
    unwatch(a) {
      watches.delete(String(a.key));
      if (watches.size === 0) {
        clearInterval(poller);
        poller = undefined;
      }
      return true;
    },
  });
  emit('ready', { port: router.port });
}

void main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
