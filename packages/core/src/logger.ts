/** The logger contract: pino's, so any pino logger (or child) can be passed in. */
import { pino } from 'pino';
export type Logger = pino.Logger;

export function defaultLogger(name: string): Logger {
  return pino({ name, level: process.env.HYDRA_LOG_LEVEL ?? 'info' });
}
