/**
 * JSON text with errors a person can act on: where in the text it goes wrong, as
 * a line and column, for config files, stored documents and CLI arguments alike.
 */
import { HydraError } from './errors.js';

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

/** The 1-based line and column of the first syntax error in `text`. */
export function jsonErrorPosition(text: string): { line: number; column: number } {
  return lineAndColumn(text, jsonErrorOffset(text));
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
 * How deeply arrays and objects nest in JSON text, by one pass that skips strings.
 * Works on bytes as well (the characters it looks at are ASCII, never part of a UTF-8
 * sequence), so a request body is measured before it is decoded.
 */
export function jsonDepth(text: string | Uint8Array): number {
  const at = typeof text === 'string' ? (i: number) => text.charCodeAt(i) : (i: number) => text[i]!;
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = at(i);
    if (inString) {
      if (c === BACKSLASH) i++;
      else if (c === QUOTE) inString = false;
    } else if (c === QUOTE) inString = true;
    else if (c === OPEN_BRACE || c === OPEN_BRACKET) deepest = Math.max(deepest, ++depth);
    else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) depth--;
  }
  return deepest;
}

/** Throws INVALID_JSON naming `origin` when `text` nests deeper than MAX_JSON_DEPTH. */
export function assertJsonDepth(text: string | Uint8Array, origin: string): void {
  const depth = jsonDepth(text);
  if (depth > MAX_JSON_DEPTH) throw new HydraError('INVALID_JSON', `${origin} nests arrays and objects ${depth} levels deep; the limit is ${MAX_JSON_DEPTH}`);
}

/** Parses JSON text; the error names `origin` and the line and column of the problem. */
export function parseJsonText(text: string, origin: string): unknown {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    const { line, column } = jsonErrorPosition(text);
    throw new HydraError('INVALID_JSON', `${origin} is not valid JSON at line ${line} column ${column}: ${(err as Error).message}`);
  }
  assertJsonDepth(text, origin);
  return value;
}
