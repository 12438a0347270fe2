/**
 * JSON text with errors a person can act on: where in the text it goes wrong, as
 * a line and column, for config files, stored documents and CLI arguments alike.
 */
import { HydraError } from './errors.js';

/** Longest excerpt of JSON text shown in an error, escaped (the text may hold anything). */
const EXCERPT_CHARS = 40;

/**
 * Characters that must not reach a terminal raw: C0 and C1 controls (ESC starts a
 * terminal command sequence, 0x9B is CSI on its own), DEL, line and paragraph
 * separators, bidirectional overrides, and the BOM.
 */
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]/g;

/**
 * `text` from `offset` as a quoted excerpt of at most EXCERPT_CHARS characters, in
 * JSON.stringify's style with every unsafe character escaped as \uXXXX: safe to print.
 */
export function jsonExcerpt(text: string, offset: number): string {
  const escape = (s: string) => JSON.stringify(s).replace(UNSAFE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  let end = offset;
  while (end < text.length && escape(text.slice(offset, end + 1)).length <= EXCERPT_CHARS) end++;
  return escape(text.slice(offset, end));
}

/** 1-based line and column of a character offset. */
function lineAndColumn(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  return { line, column: offset - before.lastIndexOf('\n') };
}

/**
 * The offset of the first syntax error in `text`, by a small scan of the JSON
 * grammar. V8 reports a position for some errors only ("Unexpected token '}',
 * ... is not valid JSON" has none), and a person needs the line and column.
 */
function jsonErrorOffset(text: string): number {
  let i = 0;
  const fail = (): never => {
    throw i;
  };
  const ws = () => {
    while (i < text.length && ' \t\n\r'.includes(text[i]!)) i++;
  };
  const literal = (word: string) => {
    for (const ch of word) if (text[i++] !== ch) (i--, fail());
  };
  const string = () => {
    i++; // opening quote
    while (i < text.length && text[i] !== '"') {
      const c = text.charCodeAt(i);
      if (c < 0x20) fail();
      if (text[i] === '\\') {
        i++;
        if (text[i] === 'u') {
          for (let k = 1; k <= 4; k++) if (!/[0-9a-fA-F]/.test(text[i + k] ?? '')) (i += k, fail());
          i += 4;
        } else if (!'"\\/bfnrt'.includes(text[i] ?? 'x') || i >= text.length) fail();
      }
      i++;
    }
    if (i >= text.length) fail();
    i++;
  };
  const number = () => {
    const m = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i));
    if (!m || m[0] === '' || m[0] === '-') fail();
    i += m![0].length;
  };
  const value = (): void => {
    ws();
    const c = text[i];
    if (c === '{') {
      i++;
      ws();
      if (text[i] === '}') return void i++;
      for (;;) {
        ws();
        if (text[i] !== '"') fail();
        string();
        ws();
        if (text[i] !== ':') fail();
        i++;
        value();
        ws();
        if (text[i] === ',') i++;
        else if (text[i] === '}') return void i++;
        else fail();
      }
    }
    if (c === '[') {
      i++;
      ws();
      if (text[i] === ']') return void i++;
      for (;;) {
        value();
        ws();
        if (text[i] === ',') i++;
        else if (text[i] === ']') return void i++;
        else fail();
      }
    }
    if (c === '"') return string();
    if (c === 't') return literal('true');
    if (c === 'f') return literal('false');
    if (c === 'n') return literal('null');
    number();
  };
  try {
    value();
    ws();
    if (i < text.length) fail();
  } catch (at) {
    if (typeof at === 'number') return Math.min(at, text.length);
    throw at;
  }
  return text.length;
}

/**
 * Why `text` is not JSON, for a person: `<origin>:<line>:<column>: ...` (the form editors
 * jump to) and an escaped excerpt from the error on. Never V8's own message: it quotes
 * the text raw, control characters and all.
 */
export function jsonSyntaxError(text: string, origin: string): HydraError {
  const offset = jsonErrorOffset(text);
  const { line, column } = lineAndColumn(text, offset);
  const where = offset >= text.length ? 'the text ends before the JSON value does' : `unexpected text at ${jsonExcerpt(text, offset)}`;
  return new HydraError('INVALID_JSON', `${origin}:${line}:${column}: not valid JSON (line ${line}, column ${column}): ${where}`);
}

/**
 * Deeper JSON is refused where it comes in: JSON.parse takes it, but JSON.stringify
 * (answering, relaying, storing) overflows the stack near 5,000 levels, and no
 * message or config of ours needs more than a handful.
 */
export const MAX_JSON_DEPTH = 128;

const OPEN_BRACE = 0x7b;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACE = 0x7d;
const CLOSE_BRACKET = 0x5d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/**
 * How deeply arrays and objects nest in JSON text, by one pass that skips strings
 * (by indexOf: a body of span records is mostly strings, and this check runs before
 * every JSON.parse of a request body, so it must cost less than the parse). Bytes are
 * read as latin1: the characters it looks at are ASCII, never part of a UTF-8
 * sequence, so a request body is measured before it is decoded.
 */
export function jsonDepth(text: string | Uint8Array): number {
  const s = typeof text === 'string' ? text : Buffer.from(text.buffer, text.byteOffset, text.byteLength).toString('latin1');
  let depth = 0;
  let deepest = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === QUOTE) i = stringEnd(s, i);
    else if (c === OPEN_BRACE || c === OPEN_BRACKET) deepest = Math.max(deepest, ++depth);
    else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) depth--;
  }
  return deepest;
}

/** Where the string opened at `open` ends: its closing quote (one after an even run of backslashes), or the text's end. */
function stringEnd(s: string, open: number): number {
  for (let from = open + 1; ; ) {
    const quote = s.indexOf('"', from);
    if (quote < 0) return s.length;
    let backslashes = 0;
    while (s.charCodeAt(quote - 1 - backslashes) === BACKSLASH) backslashes++;
    if (backslashes % 2 === 0) return quote;
    from = quote + 1;
  }
}

/** Throws INVALID_JSON naming `origin` when `text` nests deeper than MAX_JSON_DEPTH. */
export function assertJsonDepth(text: string | Uint8Array, origin: string): void {
  const depth = jsonDepth(text);
  if (depth > MAX_JSON_DEPTH) throw new HydraError('INVALID_JSON', `${origin} nests arrays and objects ${depth} levels deep; the limit is ${MAX_JSON_DEPTH}`);
}

/**
 * Whether a parsed JSON value nests arrays and objects deeper than `limit` (the top
 * level counts 1, as in jsonDepth). Walks the value and stops at the limit: cheaper
 * than scanning the text again, and never more than `limit` frames deep.
 */
function nestsDeeperThan(value: unknown, limit: number): boolean {
  if (typeof value !== 'object' || value === null) return false;
  if (limit === 0) return true;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) if (nestsDeeperThan(value[i], limit - 1)) return true;
    return false;
  }
  for (const key in value) if (nestsDeeperThan((value as Record<string, unknown>)[key], limit - 1)) return true;
  return false;
}

/**
 * Throws INVALID_JSON naming `origin` when `value`, parsed from `text`, nests deeper
 * than MAX_JSON_DEPTH. The text is measured only then, for the figure in the error.
 */
export function assertParsedJsonDepth(value: unknown, text: string, origin: string): void {
  if (nestsDeeperThan(value, MAX_JSON_DEPTH)) assertJsonDepth(text, origin);
}

/** Parses JSON text; the error names `origin`, the line and column of the problem and an escaped excerpt (see jsonSyntaxError). */
export function parseJsonText(text: string, origin: string): unknown {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw jsonSyntaxError(text, origin);
  }
  assertParsedJsonDepth(value, text, origin);
  return value;
}
