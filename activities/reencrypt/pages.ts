/**
 * Several pages of a pass in one activity, so a pass over 100,000 Secrets costs a few history events
 * rather than hundreds: pages run one after another until `maxPages` are done, the listing ends or
 * expires, or `budgetMs` has passed (so a pause or a continue-as-new waits for at most about that long).
 * The heartbeat carries what the finished pages gave and the position inside the current one, so a
 * retried attempt resumes exactly there.
 */
import { MAX_FAILURES_PER_PAGE, processPage } from './page';
import type { SecretsApi } from './secrets-json';
import {
  emptyCounts,
  type OutcomeCounts,
  type PageHeartbeat,
  type PageInput,
  type PageResult,
} from './types';

export interface PagesInput extends PageInput {
  maxPages: number;
  /** No new page starts after this long. */
  budgetMs: number;
}

export interface PagesResult extends PageResult {
  pages: number;
  /** Where the listing stands after these pages (see PageInput.skipThroughKey). */
  skipThroughKey?: string;
  /** The Secrets the listing held when it started from the beginning in this batch (first page + remainingItemCount). */
  listTotal?: number;
}

/** Heartbeat of a batch: the state after the pages it finished, and the current page's own progress. */
export interface PagesHeartbeat {
  done: PagesResult & { continueToken?: string };
  page?: PageHeartbeat;
}

export interface PagesProgress {
  resumed: PagesHeartbeat | undefined;
  beat(progress: PagesHeartbeat): void;
  signal: AbortSignal;
  now?: () => number;
}

const addCounts = (into: OutcomeCounts, from: OutcomeCounts) => {
  for (const [outcome, n] of Object.entries(from)) into[outcome as keyof OutcomeCounts] += n;
};

export async function processPages(
  api: SecretsApi,
  input: PagesInput,
  progress: PagesProgress,
): Promise<PagesResult> {
  const now = progress.now ?? Date.now;
  const startedMs = now();
  const resumed = progress.resumed;
  const done: PagesHeartbeat['done'] = resumed?.done ?? {
    pages: 0,
    counts: emptyCounts(),
    failures: [],
    digest: input.digest,
    items: 0,
    throttled: 0,
    continueToken: input.continueToken,
    skipThroughKey: input.skipThroughKey,
    lastKey: input.skipThroughKey,
  };
  let pageResume = resumed?.page;

  while (done.pages < input.maxPages && (done.pages === 0 || now() - startedMs < input.budgetMs)) {
    const fromStart = done.continueToken === undefined;
    const page: PageResult = await processPage(
      api,
      {
        ...input,
        continueToken: done.continueToken,
        skipThroughKey: done.skipThroughKey,
        digest: done.digest,
      },
      { resumed: pageResume, beat: (p) => progress.beat({ done, page: p }), signal: progress.signal },
    );
    pageResume = undefined;
    fold(done, page);
    if (page.expired) return { ...withoutToken(done), expired: page.expired };
    if (fromStart && done.listTotal === undefined && page.remainingItemCount !== undefined)
      done.listTotal = page.items + page.remainingItemCount;
    done.continueToken = page.nextToken;
    if (page.lastKey && done.skipThroughKey && page.lastKey > done.skipThroughKey)
      done.skipThroughKey = undefined;
    progress.beat({ done });
    if (!done.continueToken) break;
  }
  return { ...withoutToken(done), ...(done.continueToken ? { nextToken: done.continueToken } : {}) };
}

function fold(done: PagesHeartbeat['done'], page: PageResult): void {
  done.pages += 1;
  addCounts(done.counts, page.counts);
  for (const f of page.failures) if (done.failures.length < MAX_FAILURES_PER_PAGE) done.failures.push(f);
  done.digest = page.digest;
  done.items += page.items;
  done.throttled += page.throttled;
  if (page.conflicts) done.conflicts = (done.conflicts ?? 0) + page.conflicts;
  if (page.keptDespiteKeyChange)
    done.keptDespiteKeyChange = (done.keptDespiteKeyChange ?? 0) + page.keptDespiteKeyChange;
  if (page.lastKey !== undefined) done.lastKey = page.lastKey;
  if (page.remainingItemCount !== undefined) done.remainingItemCount = page.remainingItemCount;
}

function withoutToken(done: PagesHeartbeat['done']): PagesResult {
  const { continueToken: _token, ...result } = done;
  return result;
}
