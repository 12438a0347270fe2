/** The logger contract: pino's, so any pino logger (or child) can be passed in. */
import { pino } from 'pino';
import { traceLogFields } from './tracing.js';
export type Logger = pino.Logger;

/**
 * A pino logger named `name` at HYDRA_LOG_LEVEL (default info). Each line carries the
 * current `trace_id` and `span_id` when there is a trace; a logger of your own gets
 * them with `pino({ mixin: traceLogFields })`.
 */
export function defaultLogger(name: string): Logger {
  return pino({ name, level: process.env.HYDRA_LOG_LEVEL ?? 'info', mixin: traceLogFields });
}
