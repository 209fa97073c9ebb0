// Chaos: every procedure runs end to end while its worker process is SIGKILLed at seeded random points
// (inside ARM long-running operations, at Key Vault writes, in the middle of re-encryption pages) and
// replaced, and while the Temporal dev server and the sandbox restart. Every run must complete, no ARM or
// Key Vault mutation may be sent twice, and every Secret must end readable under the expected key.
// Size: KMSFLOW_CHAOS_ROUNDS rounds of the six procedures, KMSFLOW_CHAOS_KILLS kills per round,
// KMSFLOW_CHAOS_MIN_KILLS kills per procedure with work in flight, KMSFLOW_CHAOS_SEED; unset, the CI size of
// bench/reliability.ts (`npm run reliability -- --size nightly` runs the nightly size).
import type { WorkflowHandle } from '@temporalio/client';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { SIZES } from '../../bench/reliability';
import type { OperationLogEntry } from '../../sandbox/contracts';
import type { ScenarioInput } from '../../sandbox/scenario';
import { temporal } from '@temporalio/proto';
import { cancelUpdate, procedureWorkflowId, progressQuery, retryUpdate } from '../../workflows/messages';
import type { ProcedureOutcome } from '../../workflows/procedures/common';
import { FAST_REENCRYPT } from '../helpers/kmsflow-env';
import { type ChaosEnv, outcomeOf, seededRandom, startChaosEnv } from '../reliability/chaos-env';
import { recordFigure } from '../reliability/figures';
import { duplicates, repeatedArmChanges } from '../reliability/oplog-checks';
import { LEAK_CONTROL_QUERIES } from '../helpers/leak-controls/planted';
import {
  findingsByChannel,
  LeakMatcher,
  LeakScan,
  plantedIds,
  pollLiveViews,
  scanHistories,
  seededSecretValues,
  seedScanSecrets,
} from '../reliability/secret-scan';

// Unset, the CI size (what `npm run test:long` runs).
const ROUNDS = Number(process.env.KMSFLOW_CHAOS_ROUNDS ?? SIZES.ci.rounds);
const KILLS_PER_ROUND = Number(process.env.KMSFLOW_CHAOS_KILLS ?? SIZES.ci.kills);
const SEED = Number(process.env.KMSFLOW_CHAOS_SEED ?? SIZES.ci.seed);
const SECRETS = Number(process.env.KMSFLOW_CHAOS_SECRETS ?? SIZES.ci.secrets);
/** DEBUG output of the worker processes below this means the log channel was not really captured. */
const MIN_WORKER_LOG_BYTES = 100_000;
/** Kills each procedure must have taken while it had work in flight, over all rounds (asserted). */
const MIN_KILLS_PER_PROCEDURE = Number(process.env.KMSFLOW_CHAOS_MIN_KILLS ?? SIZES.ci.minKills);
/** Per round, keep killing while a running procedure has fewer: the share of the minimum, and one more. */
const KILL_QUOTA_PER_ROUND = Math.ceil(MIN_KILLS_PER_PROCEDURE / ROUNDS) + 1;
/** Enable and disable are one re-encryption and little else: more Secrets keep them running through their share of kills. */
const secretsOf = (p: Procedure) => (p === 'enable' || p === 'disable' ? 3 * SECRETS : SECRETS);

const PROCEDURES = ['enable', 'rotate', 'retire', 'disable', 'switch-mode', 'migrate-v2'] as const;
type Procedure = (typeof PROCEDURES)[number];

const cluster = (p: Procedure, round: number) => `c-${p}-${round}`;
const keyName = (p: Procedure, round: number) => `${p}-${round}`;
const switchVault = (round: number) => `kv-switch-${round}`;

function chaosScenario(): ScenarioInput {
  const rounds = [...Array(ROUNDS).keys()];
  const kms = (p: Procedure, r: number, version = 1) => ({
    vault: 'kv-chaos',
    key: keyName(p, r),
    version,
    networkAccess: 'Public' as const,
  });
  const secrets = (seed: number, p: Procedure) => ({
    count: secretsOf(p),
    namespaces: 4,
    seed,
    maxBytes: 3000,
  });
  return {
    seed: SEED % 100_000,
    tenantId: '72f988bf-0000-4000-a000-00000000c0de',
    subscriptions: [
      {
        id: '11111111-2222-4333-8444-555555555555',
        resourceGroups: [{ name: 'rg-chaos', location: 'eastus' }],
      },
    ],
    principals: [{ name: 'operator', type: 'User' }],
    operator: 'operator',
    identities: [{ name: 'id-kms' }],
    vaults: [
      {
        name: 'kv-chaos',
        keys: rounds.flatMap((r) =>
          PROCEDURES.filter((p) => p !== 'switch-mode').map((p) => ({ name: keyName(p, r), versions: 2 })),
        ),
      },
      ...rounds.map((r) => ({ name: switchVault(r), keys: [{ name: 'switch', versions: 1 }] })),
    ],
    roleAssignments: ['kv-chaos', ...rounds.map(switchVault)].flatMap((vault) => [
      { role: 'Key Vault Crypto Officer', principal: 'operator', scope: `vault:${vault}` },
      { role: 'Key Vault Crypto User', principal: 'id-kms', scope: `vault:${vault}` },
      { role: 'Key Vault Contributor', principal: 'id-kms', scope: `vault:${vault}` },
    ]),
    clusters: rounds.flatMap((r) => [
      {
        name: cluster('enable', r),
        kubernetesVersion: '1.29',
        identity: 'id-kms',
        secrets: secrets(1000 * r + 1, 'enable'),
      },
      {
        name: cluster('rotate', r),
        kubernetesVersion: '1.29',
        identity: 'id-kms',
        kms: kms('rotate', r),
        secrets: secrets(1000 * r + 2, 'rotate'),
      },
      {
        name: cluster('retire', r),
        kubernetesVersion: '1.29',
        identity: 'id-kms',
        kms: kms('retire', r),
        secrets: secrets(1000 * r + 3, 'retire'),
      },
      {
        name: cluster('disable', r),
        kubernetesVersion: '1.29',
        identity: 'id-kms',
        kms: kms('disable', r),
        secrets: secrets(1000 * r + 4, 'disable'),
      },
      {
        name: cluster('switch-mode', r),
        kubernetesVersion: '1.29',
        identity: 'id-kms',
        apiServerVnetIntegration: true,
        kms: { vault: switchVault(r), key: 'switch', version: 1, networkAccess: 'Public' as const },
        secrets: secrets(1000 * r + 5, 'switch-mode'),
      },
      {
        name: cluster('migrate-v2', r),
        kubernetesVersion: '1.26',
        identity: 'id-kms',
        kms: kms('migrate-v2', r),
        secrets: secrets(1000 * r + 6, 'migrate-v2'),
      },
    ]),
  };
}

let env: ChaosEnv;
let scan: LeakScan;
const CONTROL_CLUSTER = cluster('enable', 0);
const allClusters = () => [...Array(ROUNDS).keys()].flatMap((r) => PROCEDURES.map((p) => cluster(p, r)));

beforeAll(async () => {
  // ARM operations last 1.5 s, so a kill at the PUT lands inside the long-running operation.
  env = await startChaosEnv(chaosScenario(), {
    workerLogLevel: 'DEBUG',
    operationDurationMs: 1_500,
    leakControlCluster: CONTROL_CLUSTER,
  });
  await seedScanSecrets(env.sandbox, allClusters());
  scan = new LeakScan(new LeakMatcher(await seededSecretValues(env.sandbox, allClusters())));
  await env.startWorker();
}, 180_000);

afterAll(async () => {
  await env?.teardown();
});

/** Versioned key ids of `vault/key`, oldest first, from the sandbox's store. */
function storedKeyIds(vault: string, key: string): string[] {
  const record = env.sandbox.context.store.vaultByName(vault)!.keys[key]!;
  return record.versions.map((v) => `${env.sandbox.vaultUrl(vault)}/keys/${key}/${v.version}`);
}

function startProcedure(p: Procedure, round: number): Promise<WorkflowHandle> {
  const clusterId = env.clusterId(cluster(p, round));
  // Writes paced like a busy API server's, so re-encryptions last long enough to be killed in the middle of a page.
  const base = {
    clusterId,
    autoApprove: 'all',
    reencrypt: { ...FAST_REENCRYPT, maxQps: 25 },
    requestedBy: 'chaos',
  };
  const keys = p === 'switch-mode' ? [] : storedKeyIds('kv-chaos', keyName(p, round));
  const [workflowType, input] = (
    {
      enable: ['enableKms', { ...base, keyId: keys[0], networkAccess: 'Public' }],
      rotate: ['rotateKey', { ...base, keyId: keys[1] }],
      retire: ['retireKey', base],
      disable: ['disableKms', base],
      'switch-mode': [
        'switchVaultMode',
        { ...base, to: 'Private', vaultResourceId: env.vaultId(switchVault(round)) },
      ],
      'migrate-v2': ['migrateToKmsV2', { ...base, targetVersion: '1.28' }],
    } as const
  )[p];
  return env.client.workflow.start(workflowType, {
    taskQueue: env.taskQueue,
    workflowId: procedureWorkflowId(clusterId),
    args: [input],
  });
}

/** What the cluster must hold at the end: KMS state and key, Kubernetes minor version. */
function expectedEnd(
  p: Procedure,
  round: number,
): { kms: boolean; keyId?: string; minor: string; access?: string } {
  switch (p) {
    case 'enable':
      return {
        kms: true,
        keyId: storedKeyIds('kv-chaos', keyName(p, round))[0],
        minor: '1.29',
        access: 'Public',
      };
    case 'rotate':
      return {
        kms: true,
        keyId: storedKeyIds('kv-chaos', keyName(p, round))[1],
        minor: '1.29',
        access: 'Public',
      };
    case 'retire':
      // Two new versions are created after the scenario's two; the last one is current.
      return {
        kms: true,
        keyId: storedKeyIds('kv-chaos', keyName(p, round)).at(-1),
        minor: '1.29',
        access: 'Public',
      };
    case 'disable':
      return { kms: false, minor: '1.29' };
    case 'switch-mode':
      return {
        kms: true,
        keyId: storedKeyIds(switchVault(round), 'switch')[0],
        minor: '1.29',
        access: 'Private',
      };
    case 'migrate-v2':
      return {
        kms: true,
        keyId: storedKeyIds('kv-chaos', keyName(p, round))[0],
        minor: '1.28',
        access: 'Public',
      };
  }
}

type Trigger = 'arm-operation' | 'keyvault-write' | 'mid-page' | 'timer';

interface Kill {
  trigger: Trigger | 'timer-fallback';
  /** Clusters whose procedure had an activity or a workflow task running on the killed worker. */
  inFlight: string[];
  insideArmOperation: string[];
  midPage: string[];
}

const clusterOfKubePath = (path: string) => /^\/k8s\/([^/]+)\//.exec(path)?.[1];
const isArmClusterWrite = (e: OperationLogEntry) =>
  e.service === 'arm' &&
  e.method === 'PUT' &&
  /\/managedClusters\/[^/]+(\/agentPools\/[^/]+)?$/i.test(e.path) &&
  e.status < 300;
const isRewrite = (e: OperationLogEntry) =>
  e.service === 'kube' && e.method === 'PUT' && (e.detail ?? '').startsWith('rewritten');

/** Kube rewrites seen in the last half second, per cluster: "in the middle of a page". */
const recentRewrites = new Map<string, number>();
/** The `kmsflow-operation` tag of every accepted managed-cluster PUT (the idempotency key kmsflow sent), with its log position. */
let armOperationKeys: { seq: number; key: string }[] = [];

function watchOperations(): void {
  const t0 = Date.now();
  env.onOperation((e) => {
    if (process.env.KMSFLOW_CHAOS_TRACE && e.service !== 'kube')
      console.log(
        `[op] t=${((Date.now() - t0) / 1000).toFixed(1)} ${e.service} ${e.method} ${e.path.split('/').slice(-2).join('/')} ${e.status} ${e.detail ?? ''}`,
      );
    if (isRewrite(e)) {
      const name = clusterOfKubePath(e.path);
      if (name) recentRewrites.set(name, Date.now());
    }
    if (isArmClusterWrite(e) && /\/managedClusters\/[^/]+$/i.test(e.path)) {
      const name = e.path.split('/').pop()!;
      const tag = env.sandbox.context.store.clusterByName(name)?.tags?.['kmsflow-operation'];
      armOperationKeys.push({ seq: e.seq, key: `${name} ${tag ?? '(no tag)'}` });
    }
  });
}

/** Resolves once the worker was killed at the trigger (or, if it never comes, after `fallbackMs`). */
function killAt(trigger: Trigger, random: () => number, fallbackMs: number): Promise<Kill['trigger']> {
  return new Promise((resolve) => {
    let pending = true;
    let rewrites = 0;
    const rewriteTarget = 5 + Math.floor(random() * 60);
    const fire = (how: Kill['trigger']) => {
      if (!pending) return;
      pending = false;
      clearTimeout(timer);
      env.killWorker();
      resolve(how);
    };
    const timer = setTimeout(
      () => fire(trigger === 'timer' ? 'timer' : 'timer-fallback'),
      trigger === 'timer' ? 300 + random() * 4_000 : fallbackMs,
    );
    env.onOperation((e) => {
      if (!pending) return;
      if (trigger === 'arm-operation' && isArmClusterWrite(e)) fire(trigger);
      if (trigger === 'keyvault-write' && e.service === 'keyvault' && e.status < 300) fire(trigger);
      if (trigger === 'mid-page' && isRewrite(e) && ++rewrites >= rewriteTarget) fire(trigger);
    });
  });
}

const { PendingActivityState, PendingWorkflowTaskState } = temporal.api.enums.v1;

/**
 * Whether the workflow (or a child it waits for, e.g. a re-encryption) has an activity or a workflow task
 * started on a worker: read right after a kill, that work was on the killed worker, which never finished it.
 */
async function hasWorkInFlight(workflowId: string, depth = 0): Promise<boolean> {
  const described = await env.client.workflowService
    .describeWorkflowExecution({ namespace: env.client.options.namespace, execution: { workflowId } })
    .catch(() => undefined);
  if (!described) return false;
  if (described.pendingWorkflowTask?.state === PendingWorkflowTaskState.PENDING_WORKFLOW_TASK_STATE_STARTED)
    return true;
  if (
    (described.pendingActivities ?? []).some(
      (a) => a.state === PendingActivityState.PENDING_ACTIVITY_STATE_STARTED,
    )
  )
    return true;
  if (depth > 1) return false;
  for (const child of described.pendingChildren ?? [])
    if (child.workflowId && (await hasWorkInFlight(child.workflowId, depth + 1))) return true;
  return false;
}

/** Credits the kill to the procedures that had work on the killed worker, not to every one still running. */
async function snapshotAtKill(trigger: Kill['trigger'], running: Set<string>): Promise<Kill> {
  const now = Date.now();
  const candidates = [...running];
  const insideArmOperation = candidates.filter(
    (name) => env.sandbox.context.store.clusterByName(name)?.activeOperationId !== undefined,
  );
  const midPage = candidates.filter((name) => now - (recentRewrites.get(name) ?? 0) < 500);
  const busy = await Promise.all(
    candidates.map((name) => hasWorkInFlight(procedureWorkflowId(env.clusterId(name)))),
  );
  const inFlight = candidates.filter((_, i) => busy[i]);
  return {
    trigger,
    inFlight,
    insideArmOperation: insideArmOperation.filter((n) => inFlight.includes(n)),
    midPage: midPage.filter((n) => inFlight.includes(n)),
  };
}

interface Block {
  run: string;
  step: string;
  code?: string;
  message: string;
  fix?: string;
}

/**
 * Waits for the procedure's result; a procedure that blocks (e.g. on a Secret the crashed sandbox lost)
 * must say why and how to fix it, and is sent `retry` like an operator would.
 */
/** An operator retries a blocked step a few times; a block that survives them is a block, not a flake. */
const RETRIES_PER_STEP = 3;

/**
 * Waits for the procedure's result; a procedure that blocks (e.g. on a key version a crashed sandbox lost)
 * must say why and how to fix it, and is sent `retry` like an operator would, up to RETRIES_PER_STEP times
 * per step. Still blocked after that, it is cancelled and reported as `stayedBlocked`.
 */
async function settle(
  run: string,
  handle: WorkflowHandle,
  blocks: Block[],
  timeoutMs: number,
): Promise<{ outcome: ProcedureOutcome; stayedBlocked?: Block }> {
  let done = false;
  const result = outcomeOf<ProcedureOutcome>(handle, timeoutMs).finally(() => (done = true));
  const seen = new Set<string>();
  const retries = new Map<string, number>();
  let stayedBlocked: Block | undefined;
  const watch = (async () => {
    while (!done) {
      await sleep(2_000);
      const progress = await handle.query(progressQuery).catch(() => undefined);
      if (progress?.phase !== 'blocked') continue;
      const step = progress.steps.find((s) => s.id === progress.currentStep);
      const key = `${step?.id} ${step?.attempts ?? ''} ${step?.blocked?.message ?? ''}`;
      if (!step?.blocked || seen.has(key)) continue;
      seen.add(key);
      const block = {
        run,
        step: step.id,
        code: step.blocked.code,
        message: step.blocked.message,
        fix: step.blocked.fix,
      };
      blocks.push(block);
      const n = (retries.get(step.id) ?? 0) + 1;
      retries.set(step.id, n);
      if (n > RETRIES_PER_STEP) {
        stayedBlocked = block;
        await handle
          .executeUpdate(cancelUpdate, {
            args: [
              { reason: `chaos: still blocked after ${RETRIES_PER_STEP} retries`, requestedBy: 'chaos' },
            ],
          })
          .catch(() => undefined);
        continue;
      }
      await handle.executeUpdate(retryUpdate, { args: [{ requestedBy: 'chaos' }] }).catch(() => undefined);
    }
  })();
  const outcome = await result;
  await watch;
  return { outcome, ...(stayedBlocked ? { stayedBlocked } : {}) };
}

function shuffled<T>(items: T[], random: () => number): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

it(
  'every procedure completes through worker kills and server restarts, with no duplicated mutation and every Secret readable under the right key',
  async () => {
    watchOperations();
    const live = pollLiveViews(env.client, scan, { extraQueries: LEAK_CONTROL_QUERIES });
    // The planted leaks first: each channel must find its own, so a channel the scan misses fails the test.
    await env.runLeakControl();
    const random = seededRandom(SEED);
    // Each round kills at every kind of point, in a seeded order.
    const kinds: Trigger[] = [
      'arm-operation',
      'mid-page',
      'arm-operation',
      'mid-page',
      'keyvault-write',
      'timer',
    ];
    const kills: Kill[] = [];
    const blocks: Block[] = [];
    const stayedBlockedRuns: Block[] = [];
    const started = Date.now();
    const durations: Record<string, number> = {};

    for (let round = 0; round < ROUNDS; round++) {
      const running = new Set<string>();
      const outcomes = await Promise.all(
        PROCEDURES.map(async (p) => {
          const handle = await startProcedure(p, round);
          running.add(cluster(p, round));
          return { p, handle };
        }),
      ).then((list) =>
        list.map(({ p, handle }) => ({
          p,
          result: settle(`${p}#${round}`, handle, blocks, 15 * 60_000).finally(() => {
            running.delete(cluster(p, round));
            durations[`${p}#${round}`] = Math.round((Date.now() - started) / 1000);
          }),
        })),
      );
      // After four seeded kills of the round, the dev server and the sandbox each restart once cleanly and
      // once killed outright (SIGKILL for the server; for the sandbox, its unsaved changes are lost).
      const [devRestartAt, devKillAt, sandboxRestartAt, sandboxCrashAt] = shuffled(
        Array.from({ length: Math.max(4, KILLS_PER_ROUND - 1) }, (_, i) => 1 + i),
        random,
      );
      const triggers = shuffled(
        Array.from({ length: KILLS_PER_ROUND }, (_, i) => kinds[i % kinds.length]!),
        random,
      );
      // At least KILLS_PER_ROUND kills, more (up to four times as many) while a running procedure has taken fewer than its quota.
      const killsBefore = new Map(
        PROCEDURES.map((p) => [
          cluster(p, round),
          kills.filter((k) => k.inFlight.includes(cluster(p, round))).length,
        ]),
      );
      const killsOf = (name: string) =>
        kills.filter((k) => k.inFlight.includes(name)).length - killsBefore.get(name)!;
      const more = (i: number) =>
        i < KILLS_PER_ROUND ||
        (i < 4 * KILLS_PER_ROUND && [...running].some((name) => killsOf(name) < KILL_QUOTA_PER_ROUND));
      for (let i = 0; running.size > 0 && more(i); i++) {
        const how = await killAt(triggers[i % triggers.length]!, random, 10_000);
        kills.push(await snapshotAtKill(how, running));
        if (process.env.KMSFLOW_CHAOS_TRACE)
          console.log(
            `[chaos] t=${Math.round((Date.now() - started) / 1000)}s kill ${kills.length} ${how} seq=${env.sandbox.oplog.lastSeq}`,
            JSON.stringify(kills.at(-1)),
          );
        await sleep(random() * 1_000);
        if (i === devKillAt) await env.crashDevServer();
        if (i === sandboxCrashAt) {
          await env.crashSandbox();
          // What the crashed sandbox had not saved never happened: its PUTs are gone from the record too.
          armOperationKeys = armOperationKeys.filter((k) => k.seq <= env.sandbox.oplog.lastSeq);
        }
        await env.replaceWorker();
        if (i === devRestartAt) await env.restartDevServer();
        if (i === sandboxRestartAt) await env.restartSandbox();
        await sleep(500 + random() * 1_500);
      }
      for (const { p, result } of outcomes) {
        const { outcome, stayedBlocked } = await result;
        if (stayedBlocked) {
          // Only a crashed sandbox (which may lose what it had not saved) can leave a procedure blocked for good.
          expect(
            env.counts.sandboxCrashes,
            `${p} round ${round} stayed blocked: ${JSON.stringify(stayedBlocked)}`,
          ).toBeGreaterThan(0);
          stayedBlockedRuns.push(stayedBlocked);
          continue;
        }
        expect(outcome.outcome, `${p} round ${round}`).toBe('completed');
        expect(outcome.evidence.at(-1)?.proven, `${p} round ${round}`).toBe(true);
      }
    }

    // The end state of every cluster: ARM as expected, every Secret readable and under the key ARM reports.
    const lost: string[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      for (const p of PROCEDURES) {
        const name = cluster(p, round);
        const view = env.sandbox.kubeCluster(name)!.etcdView();
        if (stayedBlockedRuns.some((b) => b.run === `${p}#${round}`)) {
          // A procedure that stayed blocked changed nothing it could not finish: its Secrets must still be readable.
          lost.push(
            ...view
              .filter((e) => !e.readable)
              .map((e) => `${name} ${e.namespace}/${e.name} ${e.provider.type} readable=false`),
          );
          continue;
        }
        const record = env.sandbox.context.store.clusterByName(name)!;
        const want = expectedEnd(p, round);
        expect(record.provisioningState, name).toBe('Succeeded');
        expect(record.currentKubernetesVersion.startsWith(want.minor), name).toBe(true);
        expect(!!record.appliedKms?.enabled, name).toBe(want.kms);
        if (want.kms) {
          expect(record.appliedKms?.keyId, name).toBe(want.keyId);
          expect(record.appliedKms?.keyVaultNetworkAccess, name).toBe(want.access);
        }
        expect(view.length, name).toBeGreaterThanOrEqual(SECRETS);
        const wrong = view.filter(
          (e) =>
            !e.readable ||
            (want.kms
              ? e.provider.type !== 'kms-v2' || e.provider.keyId !== want.keyId
              : e.provider.type !== 'identity'),
        );
        lost.push(
          ...wrong.map((e) => `${name} ${e.namespace}/${e.name} ${e.provider.type} readable=${e.readable}`),
        );
      }
    }
    expect(lost).toEqual([]);
    // A procedure may block only with a reason and a fix (e.g. a Secret a crashed sandbox lost), never silently.
    expect(blocks.filter((b) => !b.code || !b.fix || !b.message)).toEqual([]);
    // Every procedure was killed while it had work in flight, as often as the run promises.
    const creditedKills = Object.fromEntries(
      PROCEDURES.map((p) => [
        p,
        kills.filter((k) => [...Array(ROUNDS).keys()].some((r) => k.inFlight.includes(cluster(p, r)))).length,
      ]),
    );
    for (const p of PROCEDURES)
      expect(creditedKills[p], `kills of ${p} with work in flight`).toBeGreaterThanOrEqual(
        MIN_KILLS_PER_PROCEDURE,
      );
    expect(env.counts.devServerKills, 'dev server SIGKILLs').toBeGreaterThanOrEqual(1);
    expect(env.counts.sandboxCrashes, 'sandbox crashes').toBeGreaterThanOrEqual(1);

    // No mutation twice: one accepted cluster PUT per kmsflow operation key, no repeated change, one key version per key-creating step.
    const oplog = env.sandbox.oplog.entries();
    const acceptedOperationKeys = armOperationKeys.map((k) => k.key);
    expect(duplicates(acceptedOperationKeys)).toEqual({});
    expect(repeatedArmChanges(oplog)).toEqual([]);
    const keyOperationTags = [...Array(ROUNDS).keys()].flatMap((r) =>
      env.sandbox.context.store
        .vaultByName('kv-chaos')!
        .keys[keyName('retire', r)]!.versions.map((v) => v.tags?.['kmsflow-operation'])
        .filter((t): t is string => !!t),
    );
    expect(keyOperationTags.length).toBe(2 * ROUNDS);
    expect(duplicates(keyOperationTags)).toEqual({});
    const keyUpdates = oplog.filter(
      (e) => e.service === 'keyvault' && e.method === 'PATCH' && e.status < 300,
    );
    expect(keyUpdates.length).toBe(ROUNDS); // one retirement per retire run

    // No Secret value in Temporal or in the worker's logs.
    const { polls } = await live.stop();
    const histories = await scanHistories(env.client, scan);
    scan.add('worker-log', env.workerOutput());
    expect(histories.runs).toBeGreaterThan(6 * ROUNDS * 2);
    expect(polls).toBeGreaterThan(30);
    // DEBUG logs of every worker process: an empty or near-empty log would pass any scan.
    expect(env.workerOutput().length).toBeGreaterThan(MIN_WORKER_LOG_BYTES);
    const { found, expected, counts: scanFindings } = findingsByChannel(scan, plantedIds(CONTROL_CLUSTER));
    expect(found).toEqual(expected);

    const perProcedure = Object.fromEntries(
      PROCEDURES.map((p) => {
        const names = new Set([...Array(ROUNDS).keys()].map((r) => cluster(p, r)));
        const of = (list: (k: Kill) => string[]) =>
          kills.filter((k) => list(k).some((n) => names.has(n))).length;
        return [
          p,
          {
            kills: of((k) => k.inFlight),
            insideArmOperation: of((k) => k.insideArmOperation),
            midPage: of((k) => k.midPage),
          },
        ];
      }),
    );
    recordFigure('chaos', {
      seed: SEED,
      rounds: ROUNDS,
      secretsPerCluster: SECRETS,
      procedureRuns: PROCEDURES.length * ROUNDS,
      workerKills: env.counts.kills,
      killTriggers: kills.reduce<Record<string, number>>(
        (acc, k) => ({ ...acc, [k.trigger]: (acc[k.trigger] ?? 0) + 1 }),
        {},
      ),
      perProcedure,
      creditedKills,
      workerStarts: env.counts.workerStarts,
      devServerRestarts: env.counts.devServerRestarts,
      devServerKills: env.counts.devServerKills,
      sandboxRestarts: env.counts.sandboxRestarts,
      sandboxCrashes: env.counts.sandboxCrashes,
      minKillsPerProcedure: MIN_KILLS_PER_PROCEDURE,
      blockedThenRetried: blocks,
      completed: PROCEDURES.length * ROUNDS - stayedBlockedRuns.length,
      stayedBlocked: stayedBlockedRuns,
      secretsChecked: allClusters().reduce(
        (n, name) => n + env.sandbox.kubeCluster(name)!.etcdView().length,
        0,
      ),
      secretsLost: lost.length,
      duplicatedMutations:
        Object.keys(duplicates(acceptedOperationKeys)).length + repeatedArmChanges(oplog).length,
      secretValuesSeeded: scan.matcher.values,
      scanPatterns: scan.matcher.patterns,
      historyRunsScanned: histories.runs,
      historyEventsScanned: histories.events,
      liveViewPolls: polls,
      scanned: scan.summary(),
      scanFindings,
      workerLogBytes: env.workerOutput().length,
      secondsToComplete: durations,
      wallSeconds: Math.round((Date.now() - started) / 1000),
    });
  },
  30 * 60_000,
);
