/** Loggers for tests: one that says nothing, one whose lines a test can read. */
import { Writable } from 'node:stream';
import { pino } from 'pino';

export const quietLogger = () => pino({ level: 'silent' });

export function captureLogger(): { logger: pino.Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString().split('\n')) if (line) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { logger: pino({ level: 'debug' }, sink), lines };
}
