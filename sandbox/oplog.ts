/** The sandbox's operation log: every mutating call on any service, in order, with query helpers for tests. */
import type { OperationLogEntry, OperationRecorder, SandboxService } from './contracts';

export interface OperationLogFilter {
  service?: SandboxService;
  method?: string;
  /** Substring of the path, or a regular expression tested against it. */
  path?: string | RegExp;
  status?: number;
  /** Only entries with `seq` greater than this. */
  afterSeq?: number;
  /** Substring of `detail`. */
  detail?: string;
}

export class OperationLog implements OperationRecorder {
  private readonly log: OperationLogEntry[] = [];
  private nextSeq = 1;
  private readonly listeners = new Set<(entry: OperationLogEntry) => void>();

  constructor(
    private readonly maxEntries = 100_000,
    private readonly now: () => number = Date.now,
  ) {}

  record(entry: Omit<OperationLogEntry, 'seq' | 'time'>): void {
    const full: OperationLogEntry = {
      seq: this.nextSeq++,
      time: new Date(this.now()).toISOString(),
      ...entry,
    };
    this.log.push(full);
    if (this.log.length > this.maxEntries) this.log.splice(0, this.log.length - this.maxEntries);
    for (const listener of this.listeners) listener(full);
  }

  entries(filter: OperationLogFilter = {}): OperationLogEntry[] {
    return this.log.filter((e) => matches(e, filter));
  }

  count(filter: OperationLogFilter = {}): number {
    return this.entries(filter).length;
  }

  last(filter: OperationLogFilter = {}): OperationLogEntry | undefined {
    const found = this.entries(filter);
    return found[found.length - 1];
  }

  /** Highest sequence number so far; pass it as `afterSeq` to see only what happens next. */
  get lastSeq(): number {
    return this.nextSeq - 1;
  }

  onRecord(listener: (entry: OperationLogEntry) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  toJSON(): OperationLogEntry[] {
    return [...this.log];
  }

  static fromJSON(entries: OperationLogEntry[], maxEntries?: number): OperationLog {
    const log = new OperationLog(maxEntries);
    log.log.push(...entries);
    log.nextSeq = (entries[entries.length - 1]?.seq ?? 0) + 1;
    return log;
  }
}

export function matches(entry: OperationLogEntry, filter: OperationLogFilter): boolean {
  if (filter.service && entry.service !== filter.service) return false;
  if (filter.method && entry.method.toUpperCase() !== filter.method.toUpperCase()) return false;
  if (filter.status !== undefined && entry.status !== filter.status) return false;
  if (filter.afterSeq !== undefined && entry.seq <= filter.afterSeq) return false;
  if (filter.detail && !(entry.detail ?? '').includes(filter.detail)) return false;
  if (filter.path !== undefined) {
    if (typeof filter.path === 'string' ? !entry.path.includes(filter.path) : !filter.path.test(entry.path))
      return false;
  }
  return true;
}

/** Parses `service`, `method`, `path` (substring), `status`, `afterSeq`, `detail` from URL query parameters. */
export function filterFromQuery(query: URLSearchParams): OperationLogFilter {
  const filter: OperationLogFilter = {};
  const service = query.get('service');
  if (service === 'arm' || service === 'keyvault' || service === 'kube') filter.service = service;
  const method = query.get('method');
  if (method) filter.method = method;
  const path = query.get('path');
  if (path) filter.path = path;
  const status = query.get('status');
  if (status && /^\d+$/.test(status)) filter.status = Number(status);
  const afterSeq = query.get('afterSeq');
  if (afterSeq && /^\d+$/.test(afterSeq)) filter.afterSeq = Number(afterSeq);
  const detail = query.get('detail');
  if (detail) filter.detail = detail;
  return filter;
}
