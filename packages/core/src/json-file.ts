/**
 * The one reader of files that people name: a service's or the router's config
 * file, what hydra-cli reads (a document for `cfg push`, a message, a payload, its
 * profile file), and the Redis URL secret file. The file is opened first and judged by its descriptor (fstat), so what
 * is checked is what is read: it must be a regular file (a symlink to one is fine; a
 * FIFO, a device or a directory is refused before a byte is read, so /dev/zero or a pipe
 * nobody writes cannot hang or flood the reader) and at most MAX_JSON_FILE_BYTES long.
 * Synchronous: these files are read once, at start or per command, and are small.
 */
import { closeSync, constants, fstatSync, openSync, readSync, statSync, type Stats } from 'node:fs';
import { HydraError } from './errors.js';
import { parseJsonText } from './json.js';

/**
 * The largest JSON file read, and the largest config document stored in Redis (a
 * config of 50 MB was once stored and a service started from it). Real configs are a
 * few kilobytes.
 */
export const MAX_JSON_FILE_BYTES = 1024 * 1024;

const CHUNK_BYTES = 64 * 1024;

/** What a file that is not a regular file is, for the error. */
function kind(st: Stats): string {
  if (st.isDirectory()) return 'a directory';
  if (st.isFIFO()) return 'a FIFO (named pipe)';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isSocket()) return 'a socket';
  return 'not a regular file';
}

function fileError(message: string, cause?: unknown): HydraError {
  return new HydraError('INVALID_CONFIG', message, { cause });
}

/**
 * Reads and parses a JSON file. Errors (HydraError, the errno error as `cause` when the
 * file could not be opened) name the path and the problem: no such file, not a regular
 * file (saying what it is), too large (the limit named), or the line, column and a short
 * escaped excerpt of a syntax error (never the file's raw bytes).
 */
export function readJsonFile(path: string): unknown {
  return parseJsonText(readSmallFile(path), path);
}

/**
 * A small file's text, judged as readJsonFile judges it (a regular file of at most
 * MAX_JSON_FILE_BYTES); also for the secret file HYDRA_REDIS_URL_FILE names.
 */
export function readSmallFile(path: string): string {
  let fd: number;
  try {
    // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer.
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw fileError(`${path}: no such file`, err);
    if (code === 'ENXIO') throw fileError(`${path}: is ${kindOf(path)}, not a regular file`, err);
    throw fileError(`${path}: cannot read: ${(err as Error).message}`, err);
  }
  let text: string;
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw fileError(`${path}: is ${kind(st)}, not a regular file`);
    if (st.size > MAX_JSON_FILE_BYTES) throw tooLarge(path, `${st.size} bytes`);
    text = readAtMost(fd, path);
  } finally {
    closeSync(fd);
  }
  return text;
}

/** What is at `path`, for a file that could not be opened for reading (a socket). */
function kindOf(path: string): string {
  try {
    return kind(statSync(path));
  } catch {
    return 'not a regular file';
  }
}

function tooLarge(path: string, size: string): HydraError {
  return fileError(`${path}: is ${size}, more than the ${MAX_JSON_FILE_BYTES} bytes (MAX_JSON_FILE_BYTES) a JSON file may have`);
}

/** The file's bytes as text, refusing it when it turns out longer than the limit (it may grow after fstat). */
function readAtMost(fd: number, path: string): string {
  const chunks: Buffer[] = [];
  let total = 0;
  for (;;) {
    const chunk = Buffer.allocUnsafe(CHUNK_BYTES);
    const n = readSync(fd, chunk, 0, CHUNK_BYTES, null);
    if (n === 0) break;
    total += n;
    if (total > MAX_JSON_FILE_BYTES) throw tooLarge(path, `at least ${total} bytes`);
    chunks.push(chunk.subarray(0, n));
  }
  return Buffer.concat(chunks, total).toString('utf8');
}
