/**
 * A Chromium for the browser tests, found without an apt step: Debian's
 * (`apt-get install chromium`) when it is installed, else the headless shell that
 * ships inside the npm package @sparticuz/chromium (a devDependency here, so
 * `npm ci` brings it). The npm copy is brotli-compressed; it is unpacked once per
 * checkout into node_modules/.cache, atomically (test files and helpers running
 * side by side never see half a binary), with a font of its own so that
 * screenshots are readable on a machine without fonts.
 */
import { accessSync, constants, createReadStream, createWriteStream, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createBrotliDecompress } from 'node:zlib';
import { extract } from 'tar-fs';

/** Where Debian (and most distributions) put their Chromium. */
export const SYSTEM_CHROMIUM_PATHS = ['/usr/bin/chromium', '/usr/bin/chromium-browser'];

const NPM_CHROMIUM = '@sparticuz/chromium';

export interface ChromiumLaunch {
  executablePath: string;
  /** Flags for playwright-core's launch. */
  args: string[];
  /** Environment for the browser process (the npm copy's font configuration). */
  env: Record<string, string | undefined>;
  /** Which one was found, for failure messages. */
  source: string;
}

/** No sandbox: tests may run as root. The rest keeps the browser from calling out. */
const ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The npm package's root, or undefined when it is not installed (its `exports` hide package.json). */
function npmPackageDir(): string | undefined {
  let main: string;
  try {
    main = require.resolve(NPM_CHROMIUM);
  } catch {
    return undefined;
  }
  for (let dir = dirname(main); dir !== dirname(dir); dir = dirname(dir)) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === NPM_CHROMIUM) return dir;
  }
  return undefined;
}

const xmlText = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** Unpacks the binary and its fonts into `target` (a fresh sibling directory renamed into place). */
async function unpack(bin: string, target: string): Promise<void> {
  const partial = `${target}.partial-${process.pid}`;
  rmSync(partial, { recursive: true, force: true });
  mkdirSync(partial, { recursive: true });
  try {
    await pipeline(createReadStream(join(bin, 'chromium.br')), createBrotliDecompress(), createWriteStream(join(partial, 'chromium'), { mode: 0o755 }));
    await pipeline(createReadStream(join(bin, 'fonts.tar.br')), createBrotliDecompress(), extract(join(partial, 'fonts')));
    // The system's fonts when it has any, and the package's Open Sans in any case.
    writeFileSync(join(partial, 'fonts.conf'), `<?xml version="1.0"?>
<!DOCTYPE fontconfig SYSTEM "fonts.dtd">
<fontconfig>
  <include ignore_missing="yes">/etc/fonts/fonts.conf</include>
  <dir>${xmlText(join(target, 'fonts'))}</dir>
  <cachedir>${xmlText(join(target, 'fonts-cache'))}</cachedir>
</fontconfig>
`);
    try {
      renameSync(partial, target);
    } catch (err) {
      // Another process unpacked it first: its copy is as good as ours.
      if (!existsSync(join(target, 'chromium'))) throw err;
    }
  } finally {
    rmSync(partial, { recursive: true, force: true });
  }
}

async function npmChromium(): Promise<ChromiumLaunch | string> {
  if (process.platform !== 'linux' || process.arch !== 'x64') return `${NPM_CHROMIUM} ships a Chromium for x64 Linux only (this is ${process.platform}/${process.arch})`;
  const dir = npmPackageDir();
  if (!dir) return `${NPM_CHROMIUM} is not installed (run npm ci)`;
  const { version } = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version: string };
  // node_modules/.cache/…: per checkout, gone with `npm ci`, and never shared with other users the way /tmp is.
  const target = join(dir, '..', '..', '.cache', 'hydra-ts-chromium', version);
  if (!isExecutable(join(target, 'chromium'))) await unpack(join(dir, 'bin'), target);
  return {
    executablePath: join(target, 'chromium'),
    args: ARGS,
    env: { ...process.env, FONTCONFIG_FILE: join(target, 'fonts.conf') },
    source: `${NPM_CHROMIUM}@${version}`,
  };
}

/**
 * The Chromium to drive: the first executable of `systemPaths`, else the npm one.
 * Throws naming what to install when there is neither.
 */
export async function findChromium(systemPaths: readonly string[] = SYSTEM_CHROMIUM_PATHS): Promise<ChromiumLaunch> {
  const system = systemPaths.find(isExecutable);
  if (system) return { executablePath: system, args: ARGS, env: { ...process.env }, source: system };
  const npm = await npmChromium();
  if (typeof npm !== 'string') return npm;
  throw new Error(`no Chromium for the browser tests: ${systemPaths.join(' and ')} not found, and ${npm}. Install Debian's (apt-get install chromium) or run npm ci on x64 Linux.`);
}
