// Chaos: every procedure runs end to end while its worker process is SIGKILLed at seeded random points
// (inside ARM long-running operations, at Key Vault writes, in the middle of re-encryption pages) and
// replaced, and while the Temporal dev server and the sandbox restart. Every run must complete, no ARM or
// Key Vault mutation may be sent twice, and every Secret must end readable under the expected key.
// Size: KMSFLOW_CHAOS_ROUNDS rounds of the six procedures (default 1), KMSFLOW_CHAOS_KILLS kills per round
// (default 6), KMSFLOW_CHAOS_SEED; `bench/chaos-nightly.ts` runs a bigger size.
import type { WorkflowHandle } from '@temporalio/client';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { OperationLogEntry } from '../../sandbox/contracts';
import type { ScenarioInput } from '../../sandbox/scenario';
import { procedureWorkflowId } from '../../workflows/messages';
import type { ProcedureOutcome } from '../../workflows/procedures/common';
import { FAST_REENCRYPT } from '../helpers/kmsflow-env';
import { type ChaosEnv, outcomeOf, seededRandom, startChaosEnv } from './chaos-env';
import { recordFigure } from './figures';
import { duplicates, repeatedArmChanges } from './oplog-checks';
import { hits, seededSecretSamples, temporalCorpus } from './secret-scan';

const ROUNDS = Number(process.env.KMSFLOW_CHAOS_ROUNDS ?? 1);
const KILLS_PER_ROUND = Number(process.env.KMSFLOW_CHAOS_KILLS ?? 6);
const SEED = Number(process.env.KMSFLOW_CHAOS_SEED ?? 20_261_128);
const SECRETS = Number(process.env.KMSFLOW_CHAOS_SECRETS ?? 120);
const MIN_KILLS_PER_PROCEDURE = 3;

const PROCEDURES = ['enable', 'rotate', 'retire', 'disable', 'switch-mode', 'migrate-v2'] as const;
type Procedure = (typeof PROCEDURES)[number];

const cluster = (p: Procedure, round: number) => `c-${p}-${round}`;
const keyName = (p: Procedure, round: number) => `${p}-${round}`;
const switchVault = (round: number) => `kv-switch-${round}`;

function chaosScenario(): ScenarioInput {
  const rounds = [...Array(ROUNDS).keys()];
  const kms = (p: Procedure, r: number, version = 1) => ({ vault: 'kv-chaos', key: keyName(p, r), version, networkAccess: 'Public' as const });
  const secrets = (seed: number) => ({ count: SECRETS, namespaces: 4, seed, maxBytes: 3000 });
  return {
    seed: SEED % 100_000,
    tenantId: '72f988bf-0000-4000-a000-00000000c0de',
    subscriptions: [{ id: '11111111-2222-4333-8444-555555555555', resourceGroups: [{ name: 'rg-chaos', location: 'eastus' }] }],
    principals: [{ name: 'operator', type: 'User' }],
    operator: 'operator',
    identities: [{ name: 'id-kms' }],
    vaults: [
      { name: 'kv-chaos', keys: rounds.flatMap((r) => PROCEDURES.filter((p) => p !== 'switch-mode').map((p) => ({ name: keyName(p, r), versions: 2 }))) },
      ...rounds.map((r) => ({ name: switchVault(r), keys: [{ name: 'switch', versions: 1 }] })),
    ],
    roleAssignments: ['kv-chaos', ...rounds.map(switchVault)].flatMap((vault) => [
      { role: 'Key Vault Crypto Officer', principal: 'operator', scope: `vault:${vault}` },
      { role: 'Key Vault Crypto User', principal: 'id-kms', scope: `vault:${vault}` },
      { role: 'Key Vault Contributor', principal: 'id-kms', scope: `vault:${vault}` },
    ]),
    clusters: rounds.flatMap((r) => [
      { name: cluster('enable', r), kubernetesVersion: '1.29', identity: 'id-kms', secrets: secrets(1000 * r + 1) },
      { name: cluster('rotate', r), kubernetesVersion: '1.29', identity: 'id-kms', kms: kms('rotate', r), secrets: secrets(1000 * r + 2) },
      { name: cluster('retire', r), kubernetesVersion: '1.29', identity: 'id-kms', kms: kms('retire', r), secrets: secrets(1000 * r + 3) },
      { name: cluster('disable', r), kubernetesVersion: '1.29', identity: 'id-kms', kms: kms('disable', r), secrets: secrets(1000 * r + 4) },
      {
        name: cluster('switch-mode', r),
        kubernetesVersion: '1.29',
        identity: 'id-kms',
        apiServerVnetIntegration: true,
        kms: { vault: switchVault(r), key: 'switch', version: 1, networkAccess: 'Public' as const },
        secrets: secrets(1000 * r + 5),
      },
      { name: cluster('migrate-v2', r), kubernetesVersion: '1.26', identity: 'id-kms', kms: kms('migrate-v2', r), secrets: secrets(1000 * r + 6) },
    ]),
  };
}

let env: ChaosEnv;
let samples: Set<string>;
const allClusters = () => [...Array(ROUNDS).keys()].flatMap((r) => PROCEDURES.map((p) => cluster(p, r)));

beforeAll(async () => {
  // ARM operations last 1.5 s, so a kill at the PUT lands inside the long-running operation.
  env = await startChaosEnv(chaosScenario(), { workerLogLevel: 'INFO', operationDurationMs: 1_500 });
  samples = await seededSecretSamples(env.sandbox, allClusters());
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
  const base = { clusterId, autoApprove: 'all', reencrypt: { ...FAST_REENCRYPT, maxQps: 25 }, requestedBy: 'chaos' };
  const keys = p === 'switch-mode' ? [] : storedKeyIds('kv-chaos', keyName(p, round));
  const [workflowType, input] = (
    {
      enable: ['enableKms', { ...base, keyId: keys[0], networkAccess: 'Public' }],
      rotate: ['rotateKey', { ...base, keyId: keys[1] }],
      retire: ['retireKey', base],
      disable: ['disableKms', base],
      'switch-mode': ['switchVaultMode', { ...base, to: 'Private', vaultResourceId: env.vaultId(switchVault(round)) }],
      'migrate-v2': ['migrateToKmsV2', { ...base, targetVersion: '1.28' }],
    } as const
  )[p];
  return env.client.workflow.start(workflowType, { taskQueue: env.taskQueue, workflowId: procedureWorkflowId(clusterId), args: [input] });
}

/** What the cluster must hold at the end: KMS state and key, Kubernetes minor version. */
function expectedEnd(p: Procedure, round: number): { kms: boolean; keyId?: string; minor: string; access?: string } {
  switch (p) {
    case 'enable':
      return { kms: true, keyId: storedKeyIds('kv-chaos', keyName(p, round))[0], minor: '1.29', access: 'Public' };
    case 'rotate':
      return { kms: true, keyId: storedKeyIds('kv-chaos', keyName(p, round))[1], minor: '1.29', access: 'Public' };
    case 'retire':
      // Two new versions are created after the scenario's two; the last one is current.
      return { kms: true, keyId: storedKeyIds('kv-chaos', keyName(p, round)).at(-1), minor: '1.29', access: 'Public' };
    case 'disable':
      return { kms: false, minor: '1.29' };
    case 'switch-mode':
      return { kms: true, keyId: storedKeyIds(switchVault(round), 'switch')[0], minor: '1.29', access: 'Private' };
    case 'migrate-v2':
      return { kms: true, keyId: storedKeyIds('kv-chaos', keyName(p, round))[0], minor: '1.28', access: 'Public' };
  }
}

type Trigger = 'arm-operation' | 'keyvault-write' | 'mid-page' | 'timer';

interface Kill {
  trigger: Trigger | 'timer-fallback';
  inFlight: string[];
  insideArmOperation: string[];
  midPage: string[];
}

const clusterOfKubePath = (path: string) => /^\/k8s\/([^/]+)\//.exec(path)?.[1];
const isArmClusterWrite = (e: OperationLogEntry) =>
  e.service === 'arm' && e.method === 'PUT' && /\/managedClusters\/[^/]+(\/agentPools\/[^/]+)?$/i.test(e.path) && e.status < 300;
const isRewrite = (e: OperationLogEntry) => e.service === 'kube' && e.method === 'PUT' && (e.detail ?? '').startsWith('rewritten');

/** Kube rewrites seen in the last half second, per cluster: "in the middle of a page". */
const recentRewrites = new Map<string, number>();
/** The `kmsflow-operation` tag of every accepted managed-cluster PUT: the idempotency key kmsflow sent. */
const armOperationKeys: string[] = [];

function watchOperations(): void {
  const t0 = Date.now();
  env.onOperation((e) => {
    if (process.env.KMSFLOW_CHAOS_TRACE && e.service !== 'kube') console.log(`[op] t=${((Date.now() - t0) / 1000).toFixed(1)} ${e.service} ${e.method} ${e.path.split('/').slice(-2).join('/')} ${e.status} ${e.detail ?? ''}`);
    if (isRewrite(e)) {
      const name = clusterOfKubePath(e.path);
      if (name) recentRewrites.set(name, Date.now());
    }
    if (isArmClusterWrite(e) && /\/managedClusters\/[^/]+$/i.test(e.path)) {
      const name = e.path.split('/').pop()!;
      const tag = env.sandbox.context.store.clusterByName(name)?.tags?.['kmsflow-operation'];
      armOperationKeys.push(`${name} ${tag ?? '(no tag)'}`);
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
    const timer = setTimeout(() => fire(trigger === 'timer' ? 'timer' : 'timer-fallback'), trigger === 'timer' ? 300 + random() * 4_000 : fallbackMs);
    env.onOperation((e) => {
      if (!pending) return;
      if (trigger === 'arm-operation' && isArmClusterWrite(e)) fire(trigger);
      if (trigger === 'keyvault-write' && e.service === 'keyvault' && e.status < 300) fire(trigger);
      if (trigger === 'mid-page' && isRewrite(e) && ++rewrites >= rewriteTarget) fire(trigger);
    });
  });
}

function snapshotAtKill(trigger: Kill['trigger'], running: Set<string>): Kill {
  const now = Date.now();
  const inFlight = [...running];
  return {
    trigger,
    inFlight,
    insideArmOperation: inFlight.filter((name) => env.sandbox.context.store.clusterByName(name)?.activeOperationId !== undefined),
    midPage: inFlight.filter((name) => now - (recentRewrites.get(name) ?? 0) < 500),
  };
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
    const random = seededRandom(SEED);
    // Each round kills at every kind of point, in a seeded order.
    const kinds: Trigger[] = ['arm-operation', 'mid-page', 'arm-operation', 'mid-page', 'keyvault-write', 'timer'];
    const kills: Kill[] = [];
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
          result: outcomeOf<ProcedureOutcome>(handle, 15 * 60_000).finally(() => {
            running.delete(cluster(p, round));
            durations[`${p}#${round}`] = Math.round((Date.now() - started) / 1000);
          }),
        })),
      );
      // The dev server restarts after the second kill, the sandbox after the fourth (or at the last one).
      const restartDevAt = Math.min(1, KILLS_PER_ROUND - 1);
      const restartSandboxAt = Math.min(3, KILLS_PER_ROUND - 1);
      const triggers = shuffled(Array.from({ length: KILLS_PER_ROUND }, (_, i) => kinds[i % kinds.length]!), random);
      // At least KILLS_PER_ROUND kills, more (up to twice as many) while a running procedure has seen fewer than three.
      const killsOf = (name: string) => kills.filter((k) => k.inFlight.includes(name)).length - killsBefore.get(name)!;
      const killsBefore = new Map(PROCEDURES.map((p) => [cluster(p, round), kills.filter((k) => k.inFlight.includes(cluster(p, round))).length]));
      const more = (i: number) => i < KILLS_PER_ROUND || (i < 2 * KILLS_PER_ROUND && [...running].some((name) => killsOf(name) < MIN_KILLS_PER_PROCEDURE));
      for (let i = 0; running.size > 0 && more(i); i++) {
        const how = await killAt(triggers[i % triggers.length]!, random, 10_000);
        kills.push(snapshotAtKill(how, running));
        if (process.env.KMSFLOW_CHAOS_TRACE) console.log(`[chaos] t=${Math.round((Date.now() - started) / 1000)}s kill ${kills.length} ${how} seq=${env.sandbox.oplog.lastSeq}`, JSON.stringify(kills.at(-1)));
        await sleep(random() * 1_000);
        await env.replaceWorker();
        if (i === restartDevAt) await env.restartDevServer();
        if (i === restartSandboxAt) await env.restartSandbox();
        await sleep(500 + random() * 1_500);
      }
      for (const { p, result } of outcomes) {
        const outcome = await result;
        expect(outcome.outcome, `${p} round ${round}`).toBe('completed');
        expect(outcome.evidence.every((e) => e.proven), `${p} round ${round}`).toBe(true);
      }
    }

    // The end state of every cluster: ARM as expected, every Secret readable and under the key ARM reports.
    const lost: string[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      for (const p of PROCEDURES) {
        const name = cluster(p, round);
        const record = env.sandbox.context.store.clusterByName(name)!;
        const want = expectedEnd(p, round);
        expect(record.provisioningState, name).toBe('Succeeded');
        expect(record.currentKubernetesVersion.startsWith(want.minor), name).toBe(true);
        expect(!!record.appliedKms?.enabled, name).toBe(want.kms);
        if (want.kms) {
          expect(record.appliedKms?.keyId, name).toBe(want.keyId);
          expect(record.appliedKms?.keyVaultNetworkAccess, name).toBe(want.access);
        }
        const view = env.sandbox.kubeCluster(name)!.etcdView();
        expect(view.length, name).toBeGreaterThanOrEqual(SECRETS);
        const wrong = view.filter((e) => !e.readable || (want.kms ? e.provider.type !== 'kms-v2' || e.provider.keyId !== want.keyId : e.provider.type !== 'identity'));
        lost.push(...wrong.map((e) => `${name} ${e.namespace}/${e.name} ${e.provider.type} readable=${e.readable}`));
      }
    }
    expect(lost).toEqual([]);

    // No mutation twice: one accepted cluster PUT per kmsflow operation key, no repeated change, one key version per key-creating step.
    const oplog = env.sandbox.oplog.entries();
    expect(duplicates(armOperationKeys)).toEqual({});
    expect(repeatedArmChanges(oplog)).toEqual([]);
    const keyOperationTags = [...Array(ROUNDS).keys()].flatMap((r) =>
      env.sandbox.context.store.vaultByName('kv-chaos')!.keys[keyName('retire', r)]!.versions.map((v) => v.tags?.['kmsflow-operation']).filter((t): t is string => !!t),
    );
    expect(keyOperationTags.length).toBe(2 * ROUNDS);
    expect(duplicates(keyOperationTags)).toEqual({});
    const keyUpdates = oplog.filter((e) => e.service === 'keyvault' && e.method === 'PATCH' && e.status < 300);
    expect(keyUpdates.length).toBe(ROUNDS); // one retirement per retire run

    // No Secret value in Temporal or in the worker's logs.
    const corpus = await temporalCorpus(env.client, { query: (type) => type !== 'reencryptSecrets' && type !== 'keyLedger' && type !== 'planProcedure' });
    expect(corpus.runs).toBeGreaterThan(6 * ROUNDS * 2);
    expect(samples.size).toBeGreaterThan(100);
    const historyHits = hits(samples, corpus.text);
    const logHits = hits(samples, env.workerOutput());
    expect(historyHits).toEqual([]);
    expect(logHits).toEqual([]);

    const perProcedure = Object.fromEntries(
      PROCEDURES.map((p) => {
        const names = new Set([...Array(ROUNDS).keys()].map((r) => cluster(p, r)));
        const of = (list: (k: Kill) => string[]) => kills.filter((k) => list(k).some((n) => names.has(n))).length;
        return [p, { kills: of((k) => k.inFlight), insideArmOperation: of((k) => k.insideArmOperation), midPage: of((k) => k.midPage) }];
      }),
    );
    recordFigure(ROUNDS > 1 ? 'chaos-nightly' : 'chaos', {
      seed: SEED,
      rounds: ROUNDS,
      secretsPerCluster: SECRETS,
      procedureRuns: PROCEDURES.length * ROUNDS,
      workerKills: env.counts.kills,
      killTriggers: kills.reduce<Record<string, number>>((acc, k) => ({ ...acc, [k.trigger]: (acc[k.trigger] ?? 0) + 1 }), {}),
      perProcedure,
      workerStarts: env.counts.workerStarts,
      devServerRestarts: env.counts.devServerRestarts,
      sandboxRestarts: env.counts.sandboxRestarts,
      completed: PROCEDURES.length * ROUNDS,
      secretsChecked: allClusters().reduce((n, name) => n + env.sandbox.kubeCluster(name)!.etcdView().length, 0),
      secretsLost: lost.length,
      duplicatedMutations: Object.keys(duplicates(armOperationKeys)).length + repeatedArmChanges(oplog).length,
      historyRunsScanned: corpus.runs,
      historyEventsScanned: corpus.events,
      secretSamples: samples.size,
      historyHits: historyHits.length,
      workerLogBytes: env.workerOutput().length,
      workerLogHits: logHits.length,
      secondsToComplete: durations,
      wallSeconds: Math.round((Date.now() - started) / 1000),
    });
  },
  30 * 60_000,
);
