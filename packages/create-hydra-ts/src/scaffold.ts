/**
 * Writes a new project from one of templates/: every file copied with its placeholders
 * filled in. Template files that npm or git would treat specially carry a leading `_`
 * (`_package.json`, `_gitignore`): npm drops a packed .gitignore, and a package.json
 * inside this package would look like a package of its own.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { basename, join, relative, resolve } from 'node:path';

/** The templates this package ships. */
export const TEMPLATES = ['service', 'gateway'] as const;
export type Template = (typeof TEMPLATES)[number];

/**
 * Hydra's rule for a service name, the same as @hydra-ts/core's (keys.ts): the scaffolder
 * has no dependencies, so `npm create hydra-ts` starts at once and works offline.
 */
const SERVICE_NAME = /^[a-z0-9][a-z0-9._-]*$/;

export interface ScaffoldOptions {
  /** Where the project goes; must not exist or be empty. */
  directory: string;
  template: Template;
  /** The service name (default: the directory's name; the gateway's is hydra-router). */
  name?: string;
  /** The hydra-ts version the project depends on (this package's: they are released together). */
  hydraTsVersion: string;
}

/** Why a name cannot be a service name, or undefined when it can. */
export function serviceNameProblem(name: string): string | undefined {
  if (SERVICE_NAME.test(name)) return undefined;
  const lower = name.toLowerCase();
  if (lower !== name && SERVICE_NAME.test(lower)) return `"${name}" has capitals: service names are lower case (try "${lower}")`;
  return `"${name}" is not a valid service name: use lower-case letters, digits, '.', '_' and '-', starting with a letter or digit`;
}

/** Creates the project; returns the files written (relative to the directory). Throws naming the problem. */
export function scaffold(o: ScaffoldOptions): string[] {
  const dir = resolve(o.directory);
  const name = o.name ?? (o.template === 'gateway' ? 'hydra-router' : basename(dir));
  const problem = serviceNameProblem(name);
  if (problem) throw new Error(`${problem}${o.name ? '' : ' (the name comes from the directory; pass --name <service-name>)'}`);
  if (existsSync(dir) && (!statSync(dir).isDirectory() || readdirSync(dir).length > 0)) throw new Error(`${dir} exists and is not an empty directory`);

  const values: Record<string, string> = {
    SERVICE_NAME: name,
    PROJECT_NAME: basename(dir),
    HYDRA_TS_VERSION: o.hydraTsVersion,
  };
  const from = join(__dirname, '..', '..', 'templates', o.template);
  const written: string[] = [];
  const copy = (src: string) => {
    for (const entry of readdirSync(src, { withFileTypes: true })) {
      const path = join(src, entry.name);
      if (entry.isDirectory()) {
        copy(path);
        continue;
      }
      const target = join(dir, relative(from, src), entry.name.replace(/^_/, entry.name === '_package.json' ? '' : '.'));
      mkdirSync(join(target, '..'), { recursive: true });
      writeFileSync(target, fill(readFileSync(path, 'utf8'), values));
      written.push(relative(dir, target));
    }
  };
  copy(from);
  return written.sort();
}

/** `__NAME__` placeholders replaced by their values; an unknown one is a bug in a template. */
function fill(text: string, values: Record<string, string>): string {
  return text.replace(/__([A-Z_]+)__/g, (whole, key: string) => {
    const value = values[key];
    if (value === undefined) throw new Error(`template placeholder ${whole} has no value`);
    return value;
  });
}
