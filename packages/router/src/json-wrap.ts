/**
 * hydra-router's answer shape, when `wrapResponses` is on: a service's JSON answer
 * that is an object but not a Hydra envelope (e.g. `{"result":{...}}`) reaches the
 * client as `{statusCode, statusMessage, statusDescription, result, ...its fields}`,
 * the envelope defaults of the status with the answer's fields laid over them
 * (hydra-router merged them the same way).
 *
 * Only what needs it is buffered: the first bytes tell an envelope (`{"statusCode"`,
 * as hydra-express and hydra-ts write them) or a non-object, and those stream on
 * untouched, as do answers over WRAP_LIMIT and anything not JSON or compressed.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { envelope } from '@hydra-ts/core';

/** Largest answer buffered to be wrapped; bigger ones stream as they are. */
export const WRAP_LIMIT = 1024 * 1024;
const ENVELOPE_START = Buffer.from('{"statusCode"');
const OPEN_BRACE = 0x7b;

/** Whether an answer may need wrapping, from its status and headers alone. */
export function mayWrap(method: string, status: number, headers: IncomingHttpHeaders): boolean {
  if (method === 'HEAD' || status === 204 || status === 304) return false;
  const type = headers['content-type'];
  if (typeof type !== 'string' || !type.includes('json') || headers['content-encoding'] !== undefined) return false;
  const length = headers['content-length'];
  return length === undefined || Number(length) <= WRAP_LIMIT;
}

function firstNonSpace(chunk: Buffer): number | undefined {
  for (const byte of chunk) if (byte !== 0x20 && byte !== 0x0a && byte !== 0x0d && byte !== 0x09) return byte;
  return undefined;
}

/** One answer's body, held until it is known whether it gets wrapped. */
export class JsonWrap {
  readonly chunks: Buffer[] = [];
  private size = 0;
  private decided = false;

  /** Keeps a chunk; false once the answer is known to need no wrapping (stream it: `chunks` first). */
  add(chunk: Buffer): boolean {
    this.chunks.push(chunk);
    this.size += chunk.length;
    if (!this.decided) {
      const first = firstNonSpace(Buffer.concat(this.chunks));
      if (first !== undefined) {
        this.decided = true;
        if (first !== OPEN_BRACE || this.chunks[0]!.subarray(0, ENVELOPE_START.length).equals(ENVELOPE_START)) return false;
      }
    }
    return this.size <= WRAP_LIMIT;
  }

  /** The wrapped answer, or undefined when the whole body is not a JSON object after all. */
  wrapped(status: number): string | undefined {
    let parsed: unknown;
    try {
      parsed = JSON.parse(Buffer.concat(this.chunks, this.size).toString('utf8'));
    } catch {
      return undefined;
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return undefined;
    return JSON.stringify(envelope(status, parsed as Record<string, unknown>));
  }
}
