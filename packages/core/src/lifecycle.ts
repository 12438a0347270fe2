/**
 * Process-level shutdown for programs (bins), never called by library code: a
 * process may host several services, and only its main knows when to exit.
 */
import type { Logger } from './logger.js';
import { errorMessage } from './errors.js';

/**
 * On SIGTERM or SIGINT, closes `target` gracefully and exits 0 (1 if closing
 * failed). A second signal exits at once. Returns a function that removes the handlers.
 */
export function closeOnSignals(target: { close(): Promise<void> }, logger: Logger, signals: NodeJS.Signals[] = ['SIGTERM', 'SIGINT']): () => void {
  let stopping = false;
  const handler = (signal: NodeJS.Signals) => {
    if (stopping) {
      logger.warn({ signal }, 'second signal: exiting without waiting');
      process.exit(1);
    }
    stopping = true;
    logger.info({ signal }, 'shutting down: presence removed, draining in-flight work');
    target.close().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err: errorMessage(err) }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  for (const s of signals) process.on(s, handler);
  return () => {
    for (const s of signals) process.off(s, handler);
  };
}
