// Runs every compiled test file (`**/dist/test/**/*.test.js` of each workspace and
// of test/) with node's own runner, one file at a time: the files share one Redis
// server and start real processes, so running them side by side would only add noise.
import { readdirSync, statSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

const roots = ['packages/core', 'packages/express', 'packages/router', 'packages/cli', 'examples/hello-service']
  .map((p) => join(p, 'dist/test'))
  .concat(['test/dist']);

function collect(dir) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return collect(path);
    return name.endsWith('.test.js') ? [path] : [];
  });
}

const only = process.argv.slice(2);
const files = roots.flatMap(collect).filter((f) => only.length === 0 || only.some((o) => f.includes(o)));
if (files.length === 0) {
  console.error('no test files found: run `npm run build` first');
  process.exit(1);
}
const result = spawnSync(process.execPath, ['--test', '--test-concurrency=1', ...files], { stdio: 'inherit' });
process.exit(result.status ?? 1);
