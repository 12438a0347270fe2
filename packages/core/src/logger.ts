/** The logger contract: pino's, so any pino logger (or child) can be passed in. */
import { pino } from 'pino';
/** What hydra-ts logs to: any pino logger (or child). */
export type Logger = pino.Logger;

/**
 * A pino logger writing JSON lines to stdout at the level in `HYDRA_LOG_LEVEL`
 * (`trace`, `debug`, `info`, `warn`, `error`, `fatal`, `silent`; default `info`).
 */
export function defaultLogger(name: string): Logger {
  return pino({ name, level: process.env.HYDRA_LOG_LEVEL ?? 'info' });
}
