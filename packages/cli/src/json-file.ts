/**
 * Reading JSON files named on the command line. A file that is not JSON is
 * refused with its path and the line and column of the problem.
 */
import { readFile } from 'node:fs/promises';
import { jsonErrorPosition } from '@hydra-ts/core';
import { CliError } from './errors.js';

export function parseJson(text: string, origin: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    const reason = (err as Error).message;
    const { line, column } = jsonErrorPosition(text);
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
