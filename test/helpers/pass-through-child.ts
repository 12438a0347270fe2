/**
 * `node pass-through-child.js <redis url>`: the pass-through scenario in a process
 * where @opentelemetry/api cannot be loaded; prints its result as one JSON line.
 */
import './no-otel-api.js';
import { passThrough } from './pass-through.js';

passThrough(process.argv[2]!).then(
  (result) => {
    let apiLoadable = true;
    try {
      require('@opentelemetry/api');
    } catch {
      apiLoadable = false;
    }
    process.stdout.write(`${JSON.stringify({ ...result, apiLoadable })}\n`);
  },
  (err: unknown) => {
    process.stderr.write(`pass-through failed: ${String(err)}\n`);
    process.exitCode = 1;
  },
);
