/**
 * One host process of bench:scale: many registered instances of one
 * implementation in one process, as a company packs them on its machines.
 *
 *   node host.js <ts|hydra> <redisUrl>
 *
 * `ts` instances are hydra-ts `Hydra.create` + `registerService()`; `hydra`
 * instances are one published hydra@1.9.3 object each (`new hydra.constructor()`,
 * `init` + `registerService()`). Only public APIs are used, so the bench measures
 * whatever registry and discovery the build has. Ops (see ipc.ts):
 *   start { services, count, offset, basePort, concurrency, createAttempts }  registers `count` instances
 *   prepare { svc, port } -> id                                creates one, not registered
 *   register { id } -> { t0, t1 }                              registers it; wall clock before and after
 *   gc                                                          a full collection, before RSS is read
 *   exit                                                        exits (a node flag such as --cpu-prof then writes its file)
 * Progress of `start` is sent as `{ event: 'progress', started, retries, firstRetryReason }`
 * events, counted over all `start` calls.
 */
import { Hydra } from '@hydra-ts/core';
import { pino } from 'pino';
import { serve, wallMs } from './ipc.js';

/** One registered (or prepared) instance, whichever implementation. */
interface Member {
  id: string;
  register(): Promise<unknown>;
}

/** hydra@1.9.3's instance API, as much of it as the bench calls. */
interface HydraPeer {
  init(config: unknown): Promise<unknown>;
  registerService(): Promise<unknown>;
  getInstanceID(): string;
}

const [impl, redisUrl] = process.argv.slice(2) as ['ts' | 'hydra', string];
const silent = pino({ level: 'silent' });

async function makeTs(svc: string, port: number): Promise<Member> {
  const h = await Hydra.create({ hydra: { serviceName: svc, serviceIP: '127.0.0.1', servicePort: port, redis: { url: redisUrl } } }, { env: {}, logger: silent });
  return { id: h.instanceId, register: () => h.registerService() };
}

/** The module exports one instance; its constructor makes more, each with its own connections. */
const hydraModule = impl === 'hydra' ? (require('hydra') as { constructor: new () => HydraPeer }) : undefined;

async function makeHydra(svc: string, port: number): Promise<Member> {
  const h = new hydraModule!.constructor();
  await h.init({ hydra: { serviceName: svc, serviceIP: '127.0.0.1', servicePort: port, redis: { url: redisUrl } } });
  return { id: h.getInstanceID(), register: () => h.registerService() };
}

const make = impl === 'ts' ? makeTs : makeHydra;
/** Every instance made here lives until the process is killed (the bench ends hosts with SIGKILL). */
const members = new Map<string, Member>();
/** Over all `start` calls: instances registered, creates retried and the first retry's reason. */
let started = 0;
let retries = 0;
let firstRetryReason: string | undefined;

const emit = serve({
  async start(a) {
    const services = a.services as string[];
    const count = Number(a.count);
    const offset = Number(a.offset);
    const basePort = Number(a.basePort);
    let next = 0;
    const progress = setInterval(() => emit('progress', { started, retries, firstRetryReason }), 1000);
    // A create that fails (e.g. a connect timeout in a process busy with a registry's traffic)
    // is retried, as a process manager would restart the service; the retries are reported.
    const create = async (svc: string, port: number): Promise<Member> => {
      for (let attempt = 1; ; attempt++) {
        try {
          return await make(svc, port);
        } catch (err) {
          if (attempt >= Number(a.createAttempts)) throw err;
          retries++;
          firstRetryReason ??= err instanceof Error ? err.message : String(err);
        }
      }
    };
    const worker = async () => {
      while (next < count) {
        const i = next++;
        const m = await create(services[(offset + i) % services.length]!, basePort + i);
        members.set(m.id, m);
        await m.register();
        started++;
      }
    };
    try {
      await Promise.all(Array.from({ length: Math.min(count, Number(a.concurrency)) }, worker));
    } finally {
      clearInterval(progress);
      emit('progress', { started, retries, firstRetryReason });
    }
    return { started };
  },
  /** Exits after answering (a --cpu-prof is written at exit; SIGKILL would lose it). */
  exit() {
    setImmediate(() => process.exit(0));
    return true;
  },
  /** A full collection (the host runs with --expose-gc), so RSS readings around it compare live memory. */
  gc() {
    global.gc?.();
    return true;
  },
  async prepare(a) {
    const m = await make(String(a.svc), Number(a.port));
    members.set(m.id, m);
    return { id: m.id };
  },
  async register(a) {
    const m = members.get(String(a.id));
    if (!m) throw new Error(`no prepared instance ${String(a.id)}`);
    const t0 = wallMs();
    await m.register();
    return { t0, t1: wallMs() };
  },
});
emit('ready');
