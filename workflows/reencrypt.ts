/**
 * `reencryptSecrets`: the storage migration, done so it is provable. After the new write key is active
 * (ARM says so and a canary Secret is rewritten by a no-op update), a watermark Secret's resourceVersion
 * splits the Secrets into "written after the switch" and "to rewrite". A rewrite pass no-op-updates every
 * Secret at or below the watermark; a verification pass lists everything again and must find nothing
 * stale and nothing failed. Paging state lives here; the run continues as new every few pages.
 */
import {
  allHandlersFinished,
  condition,
  continueAsNew,
  defineQuery,
  getExternalWorkflowHandle,
  patched,
  setCurrentDetails,
  setHandler,
  sleep,
  workflowInfo,
} from '@temporalio/workflow';
import { ApplicationFailure } from '@temporalio/common';
import type { ClusterDigest } from '../model/cluster-model';
import type { PagesResult } from '../activities/reencrypt/pages';
import type {
  Marker,
  ObjectFailure,
  OutcomeCounts,
  PageInput,
  PageResult,
} from '../activities/reencrypt/types';
import { pages, quick } from './activity-proxies';
import { sameKeyId } from '../model/ids';
import { BATCHED_PAGES_PATCH, REPORT_WAITS_PATCH, WATERMARK_CHECK_PATCH } from './patches';
import { isAfter } from '../model/resource-version';
import { pauseSignal, reencryptProgressSignal, resumeSignal, type ReencryptProgress } from './messages';

export type ExpectedEncryption = { kms: 'enabled'; keyId: string } | { kms: 'disabled' };

export interface ReencryptSettings {
  pageSize: number;
  concurrency: number;
  /** Writes per second at most; 0: no fixed cap (paced only when the API server throttles, as APF asks). */
  maxQps: number;
  /** Without a cap: fewer writes in flight when the p99 write latency passes this multiple of its start; 0: off. */
  latencyGuard: number;
  /** Continue as new after this many pages. */
  pagesPerRun: number;
  /** Pages one activity runs at most (about 6 history events per activity, whatever its pages). */
  pagesPerActivity: number;
  /** An activity starts no new page after this long, so a pause waits for about that long at most. */
  activityBudgetMs: number;
  /** Extra wait after ARM reports the key, for every API server replica to reload (AKS advises minutes). */
  propagationWaitMs: number;
  /** How long to wait for the canary to show the new key before blocking. */
  keyActiveTimeoutMs: number;
  pollIntervalMs: number;
  /** Send progress to the parent every this many pages. */
  progressEveryPages: number;
  /** A page whose worker stops heartbeating for this long is retried elsewhere, from its last heartbeat. */
  pageHeartbeatTimeoutMs: number;
}

export const DEFAULT_REENCRYPT_SETTINGS: ReencryptSettings = {
  pageSize: 500,
  concurrency: 16,
  maxQps: 0,
  latencyGuard: 0,
  pagesPerRun: 30,
  pagesPerActivity: 10,
  activityBudgetMs: 20_000,
  propagationWaitMs: 3 * 60_000,
  keyActiveTimeoutMs: 30 * 60_000,
  pollIntervalMs: 10_000,
  progressEveryPages: 5,
  pageHeartbeatTimeoutMs: 60_000,
};

export interface ReencryptInput {
  clusterId: string;
  expect: ExpectedEncryption;
  /** Written by the parent before the key change; its rewrite proves the new key is active. */
  canary?: Marker;
  /**
   * Unique to one procedure run and step attempt (`ProcedureRun.operationKey`): the watermark's nonce, so a
   * retried write is idempotent and a watermark of any other run is recognised as foreign.
   */
  operationKey: string;
  settings?: Partial<ReencryptSettings>;
}

export interface PassTotals {
  counts: OutcomeCounts;
  objects: number;
  pages: number;
  expiredListings: number;
  throttled: number;
  digest: string;
  /**
   * Rewrite pass: Secrets last written before the key change (at or below the canary's resourceVersion)
   * that a no-op update left as they were. After a key change every one of them is stale, so any here
   * means the API server does not write under the expected key. Absent in runs recorded before it existed.
   */
  keptDespiteKeyChange?: number;
  /** Writes answered 409 Conflict and retried after a re-read. Absent in runs recorded before it existed. */
  conflicts?: number;
}

export interface ReencryptState {
  stage: 'key-active' | 'rewrite' | 'verify' | 'done';
  startedAt: string;
  watermark?: string;
  token?: string;
  skipThroughKey?: string;
  total?: number;
  rewrite: PassTotals;
  verify: PassTotals;
  /** Bounded list of objects that could not be rewritten or verified. */
  failures: ObjectFailure[];
  runs: number;
  /** Workflow-clock milliseconds spent in earlier runs (continue-as-new). */
  elapsedMs: number;
  /** Of those, the wait for the key to be active (ARM, propagation, canary): not part of the rate. */
  keyActiveMs?: number;
  /** Paused when the previous run continued as new. */
  paused?: boolean;
}

export interface ReencryptResult {
  clusterId: string;
  /** The procedure step that ran it (set by the procedure in its evidence, not by the child). */
  step?: string;
  expect: ExpectedEncryption;
  proven: boolean;
  /** Why the result is not proven, one sentence per reason. */
  notProven: string[];
  /** What a reader of the evidence should know although it is proven (e.g. why nothing needed rewriting). */
  notes?: string[];
  watermark: string;
  rewrite: PassTotals;
  verify: PassTotals;
  failures: ObjectFailure[];
  startedAt: string;
  endedAt: string;
  durationMs: number;
  /** Of durationMs, the wait for the key to be active (ARM, the propagation wait, the canary). */
  keyActiveMs?: number;
  /** Secrets per second over the passes only (the key-active wait excluded): what a plan can scale by. */
  secretsPerSecond: number;
  runs: number;
}

export const MAX_FAILURES = 200;
const EMPTY_DIGEST = '0'.repeat(64);

export const reencryptStateQuery = defineQuery<ReencryptState>('reencryptState');

const emptyTotals = (): PassTotals => ({
  counts: {
    rewritten: 0,
    alreadyCurrent: 0,
    newerThanWatermark: 0,
    gone: 0,
    rewrittenByOther: 0,
    failed: 0,
    stale: 0,
  },
  objects: 0,
  pages: 0,
  expiredListings: 0,
  throttled: 0,
  digest: EMPTY_DIGEST,
  keptDespiteKeyChange: 0,
});

function initialState(): ReencryptState {
  return {
    stage: 'key-active',
    startedAt: new Date().toISOString(),
    rewrite: emptyTotals(),
    verify: emptyTotals(),
    failures: [],
    runs: 0,
    elapsedMs: 0,
  };
}

function clusterMatches(digest: ClusterDigest, expect: ExpectedEncryption): boolean {
  if (digest.provisioningState.toLowerCase() !== 'succeeded') return false;
  return expect.kms === 'enabled'
    ? digest.kms.enabled && sameKeyId(digest.kms.keyId, expect.keyId)
    : !digest.kms.enabled;
}

export async function reencryptSecrets(
  input: ReencryptInput,
  carried?: ReencryptState,
): Promise<ReencryptResult> {
  const settings = { ...DEFAULT_REENCRYPT_SETTINGS, ...input.settings };
  const state = carried ?? initialState();
  state.runs += 1;
  const runStartedMs = Date.now();
  // A pause received by an earlier run (even in the task that continued as new) holds in this one.
  let paused = state.paused ?? false;
  let pagesThisRun = 0;
  const parent = workflowInfo().parent;

  setHandler(reencryptStateQuery, () => state);
  setHandler(pauseSignal, () => void (paused = true));
  setHandler(resumeSignal, () => void (paused = false));

  // Both passes count toward one figure, so progress only ever grows: the total is twice the Secrets.
  const done = () => state.rewrite.objects + state.verify.objects;
  /** `pagesBefore`: the page count before the last activity; progress goes to the parent when it crosses a multiple of progressEveryPages. */
  const report = async (force = false, waitingFor?: string, pagesBefore?: number) => {
    const pass = state.stage === 'key-active' ? 'key-active' : state.stage;
    setCurrentDetails(
      `**Re-encryption** of \`${input.clusterId.split('/').pop()}\` — ${pass}${paused ? ' (paused)' : ''}${waitingFor ? `, waiting for ${waitingFor}` : ''}\n\n` +
        `watermark: ${state.watermark ?? 'not yet'} · rewrite: ${state.rewrite.objects} objects, ${state.rewrite.counts.rewritten} rewritten · ` +
        `verify: ${state.verify.objects} objects, ${state.verify.counts.stale} stale · failures: ${state.failures.length}`,
    );
    const totalPages = state.rewrite.pages + state.verify.pages;
    const every = settings.progressEveryPages;
    const crossed =
      pagesBefore === undefined
        ? totalPages % every === 0
        : Math.floor(totalPages / every) > Math.floor(pagesBefore / every);
    if (parent && (force || crossed)) {
      const progress: ReencryptProgress = {
        pass,
        done: done(),
        total: state.total === undefined ? undefined : state.total * 2,
        ...(waitingFor ? { waitingFor } : {}),
      };
      await getExternalWorkflowHandle(parent.workflowId, parent.runId).signal(
        reencryptProgressSignal,
        progress,
      );
    }
  };

  if (state.stage === 'key-active') {
    await report(true);
    const waitStartedMs = Date.now();
    // Runs recorded before waits were reported replay without these signals.
    const reportWaits = patched(REPORT_WAITS_PATCH);
    let lastWait = '';
    await waitUntilKeyActive(input, settings, async (what) => {
      if (!reportWaits || what === lastWait) return;
      lastWait = what;
      await report(true, what);
    });
    const marker = await quick.writeMarker({
      clusterId: input.clusterId,
      name: 'kmsflow-watermark',
      nonce: input.operationKey,
    });
    state.watermark = marker.resourceVersion;
    state.keyActiveMs = Date.now() - waitStartedMs;
    state.stage = 'rewrite';
    await report(true);
  }

  while (state.stage === 'rewrite' || state.stage === 'verify') {
    if (pagesThisRun >= settings.pagesPerRun) {
      state.elapsedMs += Date.now() - runStartedMs;
      await condition(allHandlersFinished);
      if (paused) state.paused = true;
      else delete state.paused;
      return continueAsNew<typeof reencryptSecrets>(input, state);
    }
    if (paused) {
      await report(true);
      await condition(() => !paused);
    }
    const totals = state.stage === 'rewrite' ? state.rewrite : state.verify;
    const pagesBefore = state.rewrite.pages + state.verify.pages;
    const pageInput: PageInput = {
      clusterId: input.clusterId,
      pass: state.stage,
      continueToken: state.token,
      skipThroughKey: state.skipThroughKey,
      pageSize: settings.pageSize,
      watermark: state.watermark as string,
      concurrency: settings.concurrency,
      maxQps: settings.maxQps,
      ...(settings.latencyGuard > 0 ? { latencyGuard: settings.latencyGuard } : {}),
      digest: totals.digest,
      writtenBeforeChange: state.stage === 'rewrite' ? input.canary?.resourceVersion : undefined,
    };
    const batched = patched(BATCHED_PAGES_PATCH);
    const page: PageResult & Partial<PagesResult> = batched
      ? await pages.reencryptPages.executeWithOptions(
          {
            summary: `${state.stage} pages from ${totals.pages + 1}`,
            heartbeatTimeout: settings.pageHeartbeatTimeoutMs,
          },
          [
            {
              ...pageInput,
              maxPages: Math.min(settings.pagesPerActivity, settings.pagesPerRun - pagesThisRun),
              budgetMs: settings.activityBudgetMs,
            },
          ],
        )
      : await pages.reencryptPage.executeWithOptions(
          {
            summary: `${state.stage} page ${totals.pages + 1}`,
            heartbeatTimeout: settings.pageHeartbeatTimeoutMs,
          },
          [pageInput],
        );
    const pagesDone = page.pages ?? 1;
    pagesThisRun += pagesDone;
    totals.pages += pagesDone;
    totals.throttled += page.throttled;
    totals.digest = page.digest;
    totals.objects += page.items;
    if (page.conflicts) totals.conflicts = (totals.conflicts ?? 0) + page.conflicts;
    if (page.keptDespiteKeyChange)
      totals.keptDespiteKeyChange = (totals.keptDespiteKeyChange ?? 0) + page.keptDespiteKeyChange;
    for (const [outcome, n] of Object.entries(page.counts))
      totals.counts[outcome as keyof OutcomeCounts] += n;
    for (const f of page.failures) if (state.failures.length < MAX_FAILURES) state.failures.push(f);
    if (state.total === undefined) {
      if (batched) state.total = page.listTotal;
      else if (page.remainingItemCount !== undefined && !state.token)
        state.total = page.items + page.remainingItemCount;
    }

    if (page.expired) {
      // A 410 never counts as "finished": continue with the token the server offered, or list again
      // from the start, skipping what this pass already handled.
      totals.expiredListings += 1;
      state.token = page.expired.offeredToken;
      if (!state.token) state.skipThroughKey = page.lastKey ?? state.skipThroughKey;
    } else {
      state.token = page.nextToken;
      if (batched) state.skipThroughKey = page.skipThroughKey;
      else if (page.lastKey && state.skipThroughKey && page.lastKey > state.skipThroughKey)
        state.skipThroughKey = undefined;
      if (!state.token) {
        state.skipThroughKey = undefined;
        state.stage = state.stage === 'rewrite' ? 'verify' : 'done';
        await report(true);
        continue;
      }
    }
    await report(false, undefined, batched ? pagesBefore : undefined);
  }

  const endedMs = Date.now();
  const durationMs = state.elapsedMs + (endedMs - runStartedMs);
  const notProven: string[] = [];
  if (state.verify.counts.stale > 0) {
    notProven.push(`${state.verify.counts.stale} Secret(s) were still stale in the verification pass.`);
  }
  if (state.verify.counts.failed > 0) {
    notProven.push(`${state.verify.counts.failed} Secret(s) could not be verified (see failures).`);
  }
  const notes: string[] = [];
  if (patched(WATERMARK_CHECK_PATCH)) {
    notProven.push(...(await watermarkProblems(input, state)));
    if (input.canary && state.rewrite.counts.rewritten === 0 && notProven.length === 0) {
      notes.push(
        `Nothing needed rewriting after the key change: no Secret at or below the watermark was written before the canary (resourceVersion ${input.canary.resourceVersion}).`,
      );
    }
  }
  const result: ReencryptResult = {
    clusterId: input.clusterId,
    expect: input.expect,
    proven: notProven.length === 0,
    notProven,
    ...(notes.length > 0 ? { notes } : {}),
    watermark: state.watermark as string,
    rewrite: state.rewrite,
    verify: state.verify,
    failures: state.failures,
    startedAt: state.startedAt,
    endedAt: new Date(endedMs).toISOString(),
    durationMs,
    keyActiveMs: state.keyActiveMs,
    secretsPerSecond: activeRate(state.rewrite.objects, durationMs - (state.keyActiveMs ?? 0)),
    runs: state.runs,
  };
  await report(true);
  await condition(allHandlersFinished);
  return result;
}

function activeRate(objects: number, activeMs: number): number {
  return activeMs > 0 ? Math.round((objects / activeMs) * 1000) : 0;
}

/**
 * The watermark splits "written after the key became active" from "to rewrite" only if this run wrote it
 * after the switch. Checked through the API, not only from resourceVersions this run remembers: the
 * watermark Secret must still hold this run's nonce (a watermark left by another procedure run holds
 * another), it must be newer than the canary written before the key change, and no Secret written before
 * the change may have survived a no-op update unchanged.
 */
async function watermarkProblems(input: ReencryptInput, state: ReencryptState): Promise<string[]> {
  const problems: string[] = [];
  const watermark = state.watermark as string;
  const check = await quick.checkMarker({
    clusterId: input.clusterId,
    name: 'kmsflow-watermark',
    nonce: input.operationKey,
  });
  if (!check.holdsNonce) {
    problems.push(
      `The watermark Secret does not hold this run's nonce (${input.operationKey}): it was not written by this re-encryption.`,
    );
  } else if (check.resourceVersion !== watermark) {
    problems.push(
      `The watermark Secret's resourceVersion is ${check.resourceVersion ?? 'gone'}, not ${watermark}: something else rewrote it during the run.`,
    );
  }
  if (input.canary && !isAfter(watermark, input.canary.resourceVersion)) {
    problems.push(
      `The watermark (${watermark}) is not newer than the canary written before the key change (${input.canary.resourceVersion}).`,
    );
  }
  const kept = state.rewrite.keptDespiteKeyChange ?? 0;
  if (kept > 0) {
    problems.push(
      `${kept} Secret(s) written before the key change were not rewritten by a no-op update: the API server does not write under the expected key.`,
    );
  }
  return problems;
}

async function waitUntilKeyActive(
  input: ReencryptInput,
  settings: ReencryptSettings,
  waiting: (what: string) => Promise<void>,
): Promise<void> {
  const deadline = Date.now() + settings.keyActiveTimeoutMs;
  const target = input.expect.kms === 'enabled' ? 'the new key' : 'KMS off';
  for (;;) {
    const digest = await quick.getClusterDigest(input.clusterId);
    if (clusterMatches(digest, input.expect)) break;
    if (Date.now() > deadline)
      throw keyNotActive(
        input,
        `ARM still reports ${JSON.stringify(digest.kms)} (${digest.provisioningState})`,
      );
    await waiting(`ARM to report ${target} (cluster ${digest.provisioningState})`);
    await sleep(settings.pollIntervalMs, { summary: 'wait for ARM to report the expected key' });
  }
  if (settings.propagationWaitMs > 0) {
    const until = new Date(Date.now() + settings.propagationWaitMs).toISOString().replace(/\.\d+Z$/, 'Z');
    await waiting(
      `every API server to load ${target}: propagation wait of ${Math.round(settings.propagationWaitMs / 1000)} s, until ${until}`,
    );
    await sleep(settings.propagationWaitMs, { summary: 'let every API server load the key' });
  }
  if (!input.canary) return;
  for (;;) {
    const probe = await quick.probeCanary({ clusterId: input.clusterId, canary: input.canary });
    if (probe.switched) return;
    if (Date.now() > deadline)
      throw keyNotActive(input, 'the canary Secret is still stored under the previous key');
    await waiting('the canary Secret to be rewritten under the new key');
    await sleep(settings.pollIntervalMs, { summary: 'wait for the canary to be rewritten' });
  }
}

function keyNotActive(input: ReencryptInput, why: string): ApplicationFailure {
  const what =
    input.expect.kms === 'enabled' ? `key ${input.expect.keyId}` : 'the identity (unencrypted) provider';
  return ApplicationFailure.create({
    message: `The API server of ${input.clusterId.split('/').pop()} does not write under ${what} yet: ${why}.`,
    type: 'KeyNotActive',
    nonRetryable: true,
    details: [
      {
        code: 'KeyNotActive',
        fix: 'Check the cluster (az aks show) and the KMS plugin health, then retry: the re-encryption starts over safely.',
      },
    ],
  });
}
