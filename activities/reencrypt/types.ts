/** The shapes that cross between the re-encryption activities and the `reencryptSecrets` workflow. No Secret data. */

export type Outcome =
  'rewritten' | 'alreadyCurrent' | 'newerThanWatermark' | 'gone' | 'rewrittenByOther' | 'failed' | 'stale';

export type OutcomeCounts = Record<Outcome, number>;

export const emptyCounts = (): OutcomeCounts => ({
  rewritten: 0,
  alreadyCurrent: 0,
  newerThanWatermark: 0,
  gone: 0,
  rewrittenByOther: 0,
  failed: 0,
  stale: 0,
});

export interface ObjectFailure {
  namespace: string;
  name: string;
  reason: string;
  code?: string;
}

export type PassKind = 'rewrite' | 'verify';

export interface PageInput {
  clusterId: string;
  pass: PassKind;
  /** Continue token of the page to process; undefined for the first page. */
  continueToken?: string;
  /** After a 410 without a usable token the listing restarts, skipping keys up to this one (namespace/name). */
  skipThroughKey?: string;
  pageSize: number;
  watermark: string;
  concurrency: number;
  /** Upper bound of write requests per second (0: none); backs off on 429/5xx and recovers. */
  maxQps: number;
  /** Without a rate cap: narrow the writes in flight when the p99 write latency passes this multiple of its start (0 or absent: off). */
  latencyGuard?: number;
  /** Running digest over all per-object outcomes so far (hex sha256), chained page by page. */
  digest: string;
  /**
   * Rewrite pass after a key change: the canary's resourceVersion from before the change. A Secret at or
   * below it was written under the previous key, so a no-op update must rewrite it.
   */
  writtenBeforeChange?: string;
}

export interface PageResult {
  counts: OutcomeCounts;
  failures: ObjectFailure[];
  /** Continue token of the next page; undefined when the listing is complete. */
  nextToken?: string;
  /** The list answered 410 Expired: continue with `offeredToken` if any, else restart after `lastKey`. */
  expired?: { offeredToken?: string };
  /** Key (namespace/name) of the last object handled, in list order. */
  lastKey?: string;
  remainingItemCount?: number;
  digest: string;
  items: number;
  /** Write requests answered 429 or 5xx while processing the page (handled by backing off). */
  throttled: number;
  /** Write requests answered 409 Conflict (another writer changed the Secret first; re-read and retried). */
  conflicts?: number;
  /** Secrets at or below `writtenBeforeChange` that a no-op update did not rewrite (see PageInput). */
  keptDespiteKeyChange?: number;
}

/** Heartbeat details of a page activity: where a retried attempt resumes. */
export interface PageHeartbeat {
  doneThroughKey: string;
  counts: OutcomeCounts;
  failures: ObjectFailure[];
  digest: string;
  throttled: number;
  conflicts?: number;
  keptDespiteKeyChange?: number;
}

export interface Marker {
  namespace: string;
  name: string;
  resourceVersion: string;
}
