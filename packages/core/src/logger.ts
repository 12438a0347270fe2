/** The logger contract: pino's, so any pino logger (or child) can be passed in. */
import { pino } from 'pino';
import { traceLogFields } from './tracing.js';
/** What hydra-ts logs to: any pino logger (or child). */
export type Logger = pino.Logger;

/**
 * A pino logger writing JSON lines to stdout at the level in `HYDRA_LOG_LEVEL`
 * (`trace`, `debug`, `info`, `warn`, `error`, `fatal`, `silent`; default `info`).
 * Each line carries the current `trace_id` and `span_id` when there is a trace; a
 * logger of your own gets them with `pino({ mixin: traceLogFields })`.
 */
export function defaultLogger(name: string): Logger {
  return pino({ name, level: process.env.HYDRA_LOG_LEVEL ?? 'info', mixin: traceLogFields });
}
