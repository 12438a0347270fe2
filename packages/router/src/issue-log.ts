/**
 * The router's recent problems for `/v1/router/log` (hydra-router's issueLog
 * shape `{ts, type, entry}`), bounded so a storm of failures cannot grow memory.
 */
const MAX_ENTRIES = 100;

export interface IssueEntry {
  ts: string;
  type: string;
  entry: string;
}

export class IssueLog {
  private readonly entries: IssueEntry[] = [];

  add(type: string, entry: string): void {
    this.entries.push({ ts: new Date().toISOString(), type, entry });
    if (this.entries.length > MAX_ENTRIES) this.entries.splice(0, this.entries.length - MAX_ENTRIES);
  }

  list(): IssueEntry[] {
    return [...this.entries];
  }
}
