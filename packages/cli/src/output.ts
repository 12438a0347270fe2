/**
 * What commands print. Results go to stdout: a table for people when stdout is
 * a terminal, JSON otherwise (hydra-cli always printed JSON, so scripts that
 * pipe its output keep working); `--json` and `--table` force one or the other.
 * Notes for people (counts, warnings) go to stderr so they never mix with data.
 */
export type Format = 'json' | 'table';

export interface Output {
  format: Format;
  /** Prints a result: `json` as JSON, else the text that `table` renders. */
  result(json: unknown, table: () => string): void;
  /** Prints a line of data (for commands whose output is text in both formats). */
  line(text: string): void;
  /** A note for people, on stderr. */
  note(text: string): void;
}

export function chooseFormat(options: { json?: boolean; table?: boolean }, stdoutIsTTY: boolean): Format {
  if (options.json) return 'json';
  if (options.table) return 'table';
  return stdoutIsTTY ? 'table' : 'json';
}

export function createOutput(format: Format, stdout: NodeJS.WritableStream, stderr: NodeJS.WritableStream): Output {
  return {
    format,
    result(json, table) {
      const text = format === 'json' ? JSON.stringify(json, null, 2) : table();
      stdout.write(text.endsWith('\n') ? text : `${text}\n`);
    },
    line(text) {
      stdout.write(`${text}\n`);
    },
    note(text) {
      stderr.write(`${text}\n`);
    },
  };
}

/**
 * Columns padded to their widest cell; the last column is not padded. Cells are made
 * text here: many come from entries anyone with Redis access wrote (a number or an
 * object where a host name belongs), and the table must show them, not crash.
 */
export function renderTable(headers: string[], given: unknown[][], empty = '(none)'): string {
  if (given.length === 0) return empty;
  const rows = given.map((r) => r.map((c) => (typeof c === 'string' ? c : c === undefined || c === null ? '' : typeof c === 'object' ? JSON.stringify(c) : String(c))));
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const render = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd();
  return [render(headers), ...rows.map(render)].join('\n');
}

/** 42 → "42s", 125 → "2m 5s", 7300 → "2h 1m", 180000 → "2d 2h". */
export function formatAge(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${s % 60}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
  return `${Math.floor(s / 86400)}d ${Math.floor((s % 86400) / 3600)}h`;
}

export function formatBytes(n: unknown): string {
  if (typeof n !== 'number' || !Number.isFinite(n)) return '-';
  return `${(n / 1048576).toFixed(1)} MB`;
}

/** For registry reads: a key of the wrong type is left out of the result and named on stderr; the rest is shown. */
export function warnSkipped(out: Output): (key: string, problem: string) => void {
  return (key, problem) => out.note(`warning: skipped Redis key ${key}: it ${problem}`);
}
