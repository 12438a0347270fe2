/**
 * create-hydra-ts: `npm create hydra-ts@latest <directory> [-- --template gateway] [--name <service>]`.
 */
import { parseArgs } from 'node:util';
import { relative } from 'node:path';
import { scaffold, TEMPLATES, type Template } from './scaffold.js';

const VERSION = (require('../../package.json') as { version: string }).version;
const USAGE = `usage: create-hydra-ts <directory> [--template service|gateway] [--name <service-name>]
  (through npm: npm create hydra-ts@latest <directory> -- --template gateway)
  Creates a new hydra-ts project in <directory>:
    service  (default) an Express service: a typed config, an HTTP route, a message handler,
             a test against a real Redis, a Dockerfile and a Docker Swarm stack entry
    gateway  a hydra-router: its config, a test against a real Redis, a Dockerfile and a stack entry
  --name     the service name (default: the directory's name; the gateway registers as hydra-router)
  --help, -h     this text
  --version, -V  the version
`;

function usageError(problem: string): never {
  process.stderr.write(`create-hydra-ts: ${problem}\n${USAGE}`);
  process.exit(2);
}

function main(): void {
  let parsed;
  try {
    parsed = parseArgs({
      args: process.argv.slice(2),
      allowPositionals: true,
      options: {
        template: { type: 'string', short: 't', default: 'service' },
        name: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean', short: 'V' },
      },
    });
  } catch (err) {
    usageError((err as Error).message.split(/\.\s/)[0]!);
  }
  const { values, positionals } = parsed;
  if (values.help) return void process.stdout.write(USAGE);
  if (values.version) return void process.stdout.write(`${VERSION}\n`);
  if (positionals.length !== 1) usageError(positionals.length === 0 ? 'name the directory to create' : `one directory, not ${positionals.length} (${positionals.join(' ')})`);
  if (!(TEMPLATES as readonly string[]).includes(values.template)) usageError(`unknown template "${values.template}"; templates: ${TEMPLATES.join(', ')}`);

  const directory = positionals[0]!;
  let files: string[];
  try {
    files = scaffold({ directory, template: values.template as Template, name: values.name, hydraTsVersion: VERSION });
  } catch (err) {
    process.stderr.write(`create-hydra-ts: ${(err as Error).message}\n`);
    process.exit(1);
  }
  const cd = relative(process.cwd(), directory) || '.';
  process.stdout.write(`Created ${values.template} project in ${directory} (${files.length} files). Next:
  cd ${cd}
  npm install
  npm test        # builds and runs the tests against Redis (HYDRA_REDIS_URL, default redis://127.0.0.1:6379/0)
  npm start
See README.md there for the Docker image and the stack entry.
`);
}

main();
