/**
 * Connection profiles in hydra-cli's own file (`~/.hydra-cli`, format version 2):
 *
 *   {"version": 2, "redisUrl": "127.0.0.1", "redisPort": "6379", "redisDb": "15",
 *    "redisPassword": "...", "local": {"redisUrl": ..., ...}, "prod": {...}}
 *
 * Each named entry is a profile; the top-level redis* fields are the active
 * one (hydra-cli's `use` copies a profile there). Files written by hydra-cli
 * are read as they are, and what we write hydra-cli reads back.
 */
import { writeFileSync, renameSync, mkdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { CliError } from './errors.js';
import { readJsonFile } from '@hydra-ts/core';

export const PROFILE_FILE_VERSION = 2;
const PROFILE_FIELDS = ['redisUrl', 'redisPort', 'redisDb', 'redisPassword'] as const;
const RESERVED = new Set<string>(['version', ...PROFILE_FIELDS]);

export interface Profile {
  /** A host name or address (hydra-cli's meaning), or a whole redis:// / rediss:// URL. */
  redisUrl: string;
  /** hydra-cli writes these as strings; numbers are read too. */
  redisPort?: string | number;
  redisDb?: string | number;
  redisPassword?: string;
}

type ProfileFile = { version: number } & Partial<Profile> & Record<string, unknown>;

/** `$HYDRA_CLI_CONFIG`, else `$HOME/.hydra-cli`. */
export function profileFilePath(env: NodeJS.ProcessEnv): string {
  return env.HYDRA_CLI_CONFIG || join(env.HOME || homedir(), '.hydra-cli');
}

function isProfile(v: unknown): v is Profile {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && typeof (v as Profile).redisUrl === 'string';
}

function pick(p: Partial<Profile>): Profile {
  const out: Profile = { redisUrl: p.redisUrl ?? '' };
  if (p.redisPort !== undefined && p.redisPort !== '') out.redisPort = p.redisPort;
  if (p.redisDb !== undefined && p.redisDb !== '') out.redisDb = p.redisDb;
  if (p.redisPassword) out.redisPassword = p.redisPassword;
  return out;
}

function sameProfile(a: Partial<Profile>, b: Partial<Profile>): boolean {
  return PROFILE_FIELDS.every((f) => String(a[f] ?? '') === String(b[f] ?? ''));
}

export function assertProfileName(name: string): void {
  if (!name || RESERVED.has(name) || name === 'list' || !/^[A-Za-z0-9._-]+$/.test(name)) {
    throw new CliError(`"${name}" cannot be a profile name: use letters, digits, '.', '_' or '-' (not "list" nor ${[...RESERVED].join(', ')})`);
  }
}

/** A port or database number as hydra-cli writes it (a string of digits) or as a number. */
function wholeNumber(value: string | number, field: string, min: number, max: number, where: string): number {
  const n = typeof value === 'number' ? value : /^\d+$/.test(value) ? Number(value) : NaN;
  if (!Number.isInteger(n) || n < min || n > max) throw new CliError(`${where}: field ${field} ${JSON.stringify(value)} must be a whole number ${min}-${max}`);
  return n;
}

/**
 * The Redis URL a profile points at. A bare host gets port 6379 and database 0
 * when they are not given, as hydra-cli connected; a URL keeps what it says and
 * takes port, database and password from the profile only where it says nothing.
 */
export function profileUrl(p: Profile, where = 'profile'): string {
  const raw = p.redisUrl.trim();
  let url: URL;
  try {
    url = new URL(/^rediss?:\/\//i.test(raw) ? raw : `redis://${raw.includes(':') && !raw.startsWith('[') ? `[${raw}]` : raw}`);
  } catch {
    throw new CliError(`profile redisUrl "${p.redisUrl}" is neither a host nor a redis:// URL`);
  }
  if (!url.hostname) throw new CliError(`profile redisUrl "${p.redisUrl}" names no host`);
  // URL's port setter ignores what is not a number, which would quietly mean 6379: refuse instead.
  if (!url.port) url.port = String(wholeNumber(p.redisPort ?? 6379, 'redisPort', 1, 65535, where));
  if (url.pathname === '' || url.pathname === '/') url.pathname = `/${wholeNumber(p.redisDb ?? 0, 'redisDb', 0, 65535, where)}`;
  if (!url.password && p.redisPassword) url.password = encodeURIComponent(p.redisPassword);
  return url.toString();
}

/** A profile from a URL given on the command line, in hydra-cli's host/port/db form when it can be. */
export function profileFromUrl(text: string): Profile {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new CliError(`--url "${text}" is not a URL (e.g. redis://127.0.0.1:6379/15)`);
  }
  if (url.protocol === 'rediss:' || url.username) return pick({ redisUrl: text });
  if (url.protocol !== 'redis:') throw new CliError(`--url must start with redis:// or rediss://, not ${url.protocol}//`);
  return pick({
    redisUrl: url.hostname.replace(/^\[(.*)\]$/, '$1'),
    redisPort: url.port || '6379',
    redisDb: url.pathname.replace('/', '') || '0',
    redisPassword: url.password ? decodeURIComponent(url.password) : undefined,
  });
}

export class ProfileStore {
  constructor(readonly path: string) {}

  private read(): ProfileFile {
    let data: unknown;
    try {
      data = readJsonFile(this.path);
    } catch (err) {
      if (((err as Error).cause as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') return { version: PROFILE_FILE_VERSION };
      throw err;
    }
    if (typeof data !== 'object' || data === null || Array.isArray(data)) throw new CliError(`${this.path} must hold a JSON object`);
    return { ...(data as ProfileFile), version: PROFILE_FILE_VERSION };
  }

  /** Written whole to a temporary file, then renamed: a crash never leaves half a file. Mode 0600: it may hold passwords. */
  private write(data: ProfileFile): void {
    mkdirSync(dirname(this.path), { recursive: true });
    const tmp = `${this.path}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(data), { mode: 0o600 });
    renameSync(tmp, this.path);
  }

  profiles(): Record<string, Profile> {
    const out: Record<string, Profile> = {};
    for (const [name, value] of Object.entries(this.read())) if (!RESERVED.has(name) && isProfile(value)) out[name] = pick(value);
    return out;
  }

  /** The active connection (top-level fields) and the name of the profile it matches, if any. */
  active(): { name: string | null; profile: Profile | null } {
    const data = this.read();
    if (typeof data.redisUrl !== 'string' || data.redisUrl === '') return { name: null, profile: null };
    const profile = pick(data);
    const name = Object.entries(this.profiles()).find(([, p]) => sameProfile(p, profile))?.[0] ?? null;
    return { name, profile };
  }

  get(name: string): Profile {
    const profile = this.profiles()[name];
    if (!profile) {
      const known = Object.keys(this.profiles());
      throw new CliError(`no profile "${name}" in ${this.path}${known.length ? ` (known: ${known.join(', ')})` : ''}; create it with: hydra-cli config ${name}`);
    }
    return profile;
  }

  /** Saves a profile and makes it the active one, as hydra-cli's `config` does. */
  save(name: string, profile: Profile): void {
    assertProfileName(name);
    profileUrl(profile); // refuse what could never connect before writing it
    const data = this.read();
    data[name] = pick(profile);
    this.write(this.activate(data, profile));
  }

  use(name: string): Profile {
    const profile = this.get(name);
    this.write(this.activate(this.read(), profile));
    return profile;
  }

  /** Copies the profile to the top level; a password of the previous profile must not linger. */
  private activate(data: ProfileFile, profile: Profile): ProfileFile {
    for (const f of PROFILE_FIELDS) delete data[f];
    return { ...data, ...pick(profile) };
  }
}
