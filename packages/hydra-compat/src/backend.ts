/**
 * What the Hydra API needs underneath, in two implementations: redis-backend.ts
 * (core's Hydra over a real Redis) and memory-backend.ts (test mode: one process,
 * no Redis). hydra.ts turns their answers into Hydra's shapes; a backend throws
 * core's coded errors (HydraError) and never answers in Hydra's envelope itself.
 */
import type { Envelope, Instance, NodeStatus, QueuedMessage, ServiceRecord, UMFInput, UMFMessage, RedisClient } from '@hydra-ts/core';

/** A health log entry as stored: `{ts, serviceName, type, processID, msg}`. */
export type HealthLogEntry = Record<string, unknown>;

/** The operations hydra.ts builds Hydra's API from. */
export interface Backend {
  readonly instanceId: string;

  /** Publishes the instance (service key, nodes entry, presence, health) and subscribes to its channels. */
  registerService(): Promise<void>;
  registerRoutes(routes: string[]): Promise<void>;
  appendHealthLog(type: string, message: string): Promise<void>;
  /** Every message that reaches this instance (long form). */
  onMessage(handler: (message: UMFMessage) => void): void;

  /** To one instance (the named one, or any present one); throws SERVICE_UNAVAILABLE when there is none. */
  send(message: UMFInput): Promise<void>;
  /** To every instance of the service; throws SERVICE_UNAVAILABLE when there is none. */
  broadcast(message: UMFInput): Promise<void>;
  /** HTTP to an instance, answered in the envelope (a non-JSON body as a Buffer in `result`); never throws for the callee's failures. */
  request(message: UMFInput, timeoutMs: number | undefined): Promise<Envelope>;

  presence(serviceName: string): Promise<Instance[]>;
  services(): Promise<ServiceRecord[]>;
  service(serviceName: string): Promise<ServiceRecord | null>;
  nodes(): Promise<NodeStatus[]>;
  routes(): Promise<Record<string, string[]>>;
  health(serviceName: string): Promise<Record<string, unknown>[]>;
  /** Entries of every instance of the service, newest first. */
  healthLog(serviceName: string): Promise<HealthLogEntry[]>;

  enqueue(message: UMFInput): Promise<void>;
  take(serviceName: string): Promise<QueuedMessage | null>;
  /** Completed: removed from in-progress; else moved to mqincomplete with body.reason. Answers mqincomplete's length. */
  settle(taken: QueuedMessage, completed: boolean, reason: string): Promise<number>;

  getConfig(label: string): Promise<unknown>;
  putConfig(label: string, doc: unknown): Promise<void>;
  listConfig(serviceName: string): Promise<string[]>;

  /** A new client on the same Redis, connecting (commands wait until it is ready). */
  cloneRedis(options?: Record<string, unknown>): RedisClient;
  close(): Promise<void>;
}
