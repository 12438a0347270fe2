/**
 * Where the router's log lines go: stdout, written once per event-loop turn.
 * With an access log line per request, one write per line (pino's default) was
 * a fifth of the router's CPU under load (bench/router, stdout a pipe); batching
 * the lines of one turn keeps a line's delay below a millisecond at any load.
 */
export class TurnBatchedStdout {
  private readonly lines: string[] = [];
  private scheduled = false;

  /** pino's destination interface. */
  write(line: string): void {
    this.lines.push(line);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.flush);
    }
  }

  /** Writes what is pending now (also called on exit, so nothing is lost). */
  readonly flush = (): void => {
    this.scheduled = false;
    if (this.lines.length === 0) return;
    const text = this.lines.join('');
    this.lines.length = 0;
    process.stdout.write(text);
  };
}
