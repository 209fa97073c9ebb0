/**
 * One page of a re-encryption pass: list a page of Secrets, then no-op-update every Secret at or below
 * the watermark with `concurrency` writes in flight, heartbeating the position as results are folded in
 * list order so a retried attempt resumes there. Secret data stays inside this function.
 */
import { createHash } from 'node:crypto';
import { ApiException } from '@kubernetes/client-node';

import { ApplicationFailure } from '@temporalio/common';
import { classifyError, ErrorType, toApplicationFailure } from '../errors';
import { writePacer } from './write-pacing';
import { isAfter } from '../../model/resource-version';
import type { SecretJson, SecretsApi } from './secrets-json';
import {
  emptyCounts,
  type ObjectFailure,
  type Outcome,
  type PageHeartbeat,
  type PageInput,
  type PageResult,
} from './types';

/** Failures kept per page; the counts stay exact beyond it. */
export const MAX_FAILURES_PER_PAGE = 50;
const MAX_WRITE_ATTEMPTS = 8;
const MAX_CONFLICT_ROUNDS = 5;
/** Heartbeat after this many more Secrets are folded (the SDK throttles heartbeats further). */
const HEARTBEAT_EVERY = 25;

const keyOf = (s: SecretJson) => `${s.metadata?.namespace ?? ''}/${s.metadata?.name ?? ''}`;

interface ObjectResult {
  key: string;
  outcome: Outcome;
  resourceVersion: string;
  failure?: ObjectFailure;
}

/** The evidence digest: a SHA-256 chain over "namespace/name resourceVersion outcome", one link per Secret in list order. */
export function chainDigest(previous: string, line: string): string {
  return createHash('sha256').update(previous).update('\n').update(line).digest('hex');
}

function statusOf(err: unknown): number | undefined {
  return err instanceof ApiException ? err.code : undefined;
}

/** Where a page resumes (the last heartbeat of an earlier attempt), how it reports progress, and when to stop. */
export interface PageProgress {
  resumed: PageHeartbeat | undefined;
  beat(progress: PageHeartbeat): void;
  signal: AbortSignal;
}

/**
 * The fresh continue token a 410 Gone may offer (its Status body's metadata.continue); none when the body
 * is not that JSON, e.g. a proxy's own error page.
 */
function continueTokenOffered(body: unknown): string | undefined {
  if (typeof body !== 'string') return undefined;
  try {
    const token = (JSON.parse(body) as { metadata?: { continue?: unknown } } | null)?.metadata?.continue;
    return typeof token === 'string' && token !== '' ? token : undefined;
  } catch {
    return undefined;
  }
}

export async function processPage(
  api: SecretsApi,
  input: PageInput,
  progress: PageProgress,
): Promise<PageResult> {
  const { resumed, signal } = progress;
  let list;
  try {
    list = await api.list(input.pageSize, input.continueToken);
  } catch (err) {
    if (statusOf(err) === 410) {
      const offeredToken = continueTokenOffered((err as ApiException<unknown>).body);
      return {
        counts: emptyCounts(),
        failures: [],
        expired: { offeredToken },
        digest: input.digest,
        items: 0,
        throttled: 0,
      };
    }
    throw toApplicationFailure(err, 'List Secrets');
  }

  const items = list.items.filter((s) => !input.skipThroughKey || keyOf(s) > input.skipThroughKey);
  const counts = resumed?.counts ?? emptyCounts();
  const failures: ObjectFailure[] = resumed?.failures ?? [];
  let digest = resumed?.digest ?? input.digest;
  let throttled = resumed?.throttled ?? 0;
  let conflicts = resumed?.conflicts ?? 0;
  let keptDespiteKeyChange = resumed?.keptDespiteKeyChange ?? 0;
  const todo = resumed ? items.filter((s) => keyOf(s) > resumed.doneThroughKey) : items;
  const pacer = writePacer(input.maxQps, input.concurrency, input.latencyGuard);

  const writeOnce = async (secret: SecretJson): Promise<SecretJson> => {
    for (let attempt = 1; ; attempt++) {
      await pacer.acquire();
      const sentAt = performance.now();
      try {
        const written = await api.replace(secret);
        pacer.succeeded(performance.now() - sentAt);
        return written;
      } catch (err) {
        const c = classifyError(err);
        const transient = c.retryable && c.type !== ErrorType.conflict && statusOf(err) !== 409;
        if (!transient) pacer.released();
        else {
          throttled++;
          pacer.throttled(c.retryAfterMs);
        }
        if (!transient || attempt >= MAX_WRITE_ATTEMPTS || signal.aborted) throw err;
      }
    }
  };

  const handle = async (secret: SecretJson): Promise<ObjectResult> => {
    const key = keyOf(secret);
    const rv = secret.metadata?.resourceVersion ?? '0';
    if (isAfter(rv, input.watermark)) return { key, outcome: 'newerThanWatermark', resourceVersion: rv };
    let current = secret;
    for (let round = 1; ; round++) {
      const before = current.metadata?.resourceVersion ?? '0';
      try {
        const written = await writeOnce(current);
        const after = written.metadata?.resourceVersion ?? before;
        const unchanged = after === before;
        const outcome: Outcome =
          input.pass === 'rewrite'
            ? unchanged
              ? 'alreadyCurrent'
              : 'rewritten'
            : unchanged
              ? 'alreadyCurrent'
              : 'stale';
        return { key, outcome, resourceVersion: after };
      } catch (err) {
        const status = statusOf(err);
        if (status === 404) return { key, outcome: 'gone', resourceVersion: before };
        if (status === 409) conflicts++;
        if (status === 409 && round < MAX_CONFLICT_ROUNDS) {
          try {
            current = await api.read(secret.metadata!.namespace!, secret.metadata!.name!);
          } catch (readErr) {
            if (statusOf(readErr) === 404) return { key, outcome: 'gone', resourceVersion: before };
            throw toApplicationFailure(readErr, `Re-read Secret ${key}`);
          }
          const fresh = current.metadata?.resourceVersion ?? '0';
          if (isAfter(fresh, input.watermark))
            return { key, outcome: 'rewrittenByOther', resourceVersion: fresh };
          continue;
        }
        const c = classifyError(err);
        if (c.retryable && status !== 409) throw toApplicationFailure(err, `No-op update of Secret ${key}`);
        const [namespace = '', name = ''] = key.split('/');
        return {
          key,
          outcome: 'failed',
          resourceVersion: before,
          failure: { namespace, name, reason: c.message, ...(c.code ? { code: c.code } : {}) },
        };
      }
    }
  };

  // A sliding pool: `concurrency` writes in flight, each worker takes the next Secret as soon as it is free,
  // so one large Secret does not hold the others back. Results are folded in list order; the folded
  // prefix is what the heartbeat records, so a retried attempt resumes right after it.
  const results: (ObjectResult | undefined)[] = new Array(todo.length);
  let next = 0;
  let folded = 0;
  let beatAt = 0;
  const fold = () => {
    while (folded < todo.length && results[folded]) {
      const r = results[folded]!;
      counts[r.outcome]++;
      if (
        r.outcome === 'alreadyCurrent' &&
        input.writtenBeforeChange &&
        !isAfter(r.resourceVersion, input.writtenBeforeChange)
      )
        keptDespiteKeyChange++;
      if (r.failure && failures.length < MAX_FAILURES_PER_PAGE) failures.push(r.failure);
      digest = chainDigest(digest, `${r.key} ${r.resourceVersion} ${r.outcome}`);
      results[folded] = undefined;
      folded++;
    }
    if (folded > 0 && (folded - beatAt >= HEARTBEAT_EVERY || folded === todo.length)) {
      beatAt = folded;
      progress.beat({
        doneThroughKey: keyOf(todo[folded - 1]!),
        counts,
        failures,
        digest,
        throttled,
        conflicts,
        keptDespiteKeyChange,
      });
    }
  };
  const worker = async () => {
    while (next < todo.length) {
      if (signal.aborted) throw ApplicationFailure.retryable('page cancelled', 'Cancelled');
      const index = next++;
      results[index] = await handle(todo[index]!);
      fold();
    }
  };
  await Promise.all(Array.from({ length: Math.min(input.concurrency, todo.length) }, worker));

  return {
    counts,
    failures,
    nextToken: list.metadata?.continue || undefined,
    lastKey: items.length > 0 ? keyOf(items[items.length - 1]!) : input.skipThroughKey,
    remainingItemCount: list.metadata?.remainingItemCount,
    digest,
    items: items.length,
    throttled,
    ...(conflicts > 0 ? { conflicts } : {}),
    ...(keptDespiteKeyChange > 0 ? { keptDespiteKeyChange } : {}),
  };
}
