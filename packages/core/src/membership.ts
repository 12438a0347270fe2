/**
 * The join and leave announcements of hydra-ts's registry (channels.changes and
 * channels.changesOf): discovery follows these instead of watching every heartbeat,
 * so a steady cluster sends nothing at all. Written here and by the sweeper's Lua
 * script (registry-scripts.ts), which must produce the same `down` text.
 */
import { toInstance, type Instance } from './registry-reads.js';
import { isInstanceId, isServiceName } from './keys.js';
import type { NodeEntry } from './registry.js';

/**
 * Why an instance left: `removed` = it deregistered (a graceful stop: it may still be
 * finishing requests it took); `expired` = its presence ran out (no heartbeat for 3 s:
 * the process is dead, hung or cut off); `resync` = found missing by a full read.
 */
export type DownReason = 'removed' | 'expired' | 'resync';

/** One announcement: an instance joined (with its nodes entry) or left. */
export type Change =
  | { op: 'up'; node: Instance }
  | { op: 'down'; service: string; id: string; reason: Exclude<DownReason, 'resync'> };

/** The text of an `up` announcement. */
export function upText(entry: NodeEntry): string {
  return `{"op":"up","node":${JSON.stringify(entry)}}`;
}

/** The text of a `down` announcement (service and id are validated names: no escaping needed). */
export function downText(service: string, id: string, reason: 'removed' | 'expired'): string {
  return `{"op":"down","service":"${service}","id":"${id}","reason":"${reason}"}`;
}

/** Reads an announcement; null for anything else (anyone with access to Redis can publish). */
export function parseChange(text: string): Change | null {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof doc !== 'object' || doc === null) return null;
  const c = doc as Record<string, unknown>;
  if (c.op === 'up') {
    const node = toInstance(c.node);
    return node && isServiceName(node.serviceName) && isInstanceId(node.instanceID) ? { op: 'up', node } : null;
  }
  if (c.op === 'down' && isServiceName(c.service) && isInstanceId(c.id) && (c.reason === 'removed' || c.reason === 'expired')) {
    return { op: 'down', service: c.service, id: c.id, reason: c.reason };
  }
  return null;
}
