/**
 * Reading JSON files named on the command line. A file that is not JSON is
 * refused with its path and the line and column of the problem, including
 * a file cut short (V8 gives no position for that, so it points at the end).
 */
import { readFile } from 'node:fs/promises';
import { CliError } from './errors.js';

/** 1-based line and column of a character offset. */
export function lineAndColumn(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  return { line, column: offset - before.lastIndexOf('\n') };
}

export function parseJson(text: string, origin: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    const reason = (err as Error).message;
    const pos = /at position (\d+)/.exec(reason);
    const offset = pos ? Number(pos[1]) : text.trimEnd().length;
    const { line, column } = lineAndColumn(text, offset);
    throw new CliError(`${origin}:${line}:${column}: not valid JSON (line ${line}, column ${column}): ${reason}`);
  }
}

export async function readJsonFile(path: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new CliError(code === 'ENOENT' ? `${path}: no such file` : `${path}: cannot read: ${(err as Error).message}`);
  }
  return parseJson(text, path);
}
