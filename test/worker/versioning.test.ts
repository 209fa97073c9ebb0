/**
 * Upgrading kmsflow while procedures run, with Worker Versioning on a real Temporal dev server: procedures
 * started on v1 stay pinned to v1 and finish there after v2 (an inserted step, a changed activity) became
 * current; new procedures run v2's steps; nothing fails with a nondeterminism error; and while no v1 worker
 * runs, a pinned procedure waits and its status says for which version.
 */
import * as path from 'node:path';
import type { WorkflowHandle } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { bundleWorkflowCode, DefaultLogger, type Worker } from '@temporalio/worker';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { readDeployment } from '../../client/commands/support/deployment';
import { readSnapshot } from '../../client/commands/support/procedure-snapshot';
import { listProcedures } from '../../client/commands/support/visibility';
import type { ScenarioInput } from '../../sandbox/scenario';
import { createKmsflowWorker } from '../../worker/create-worker';
import {
  currentVersion,
  DEPLOYMENT_NAME,
  promoteToCurrent,
  type WorkerVersion,
} from '../../worker/versioning';
import {
  approveUpdate,
  ledgerWorkflowId,
  pauseSignal,
  type ProcedureProgress,
  procedureWorkflowId,
  progressQuery,
  resumeSignal,
} from '../../workflows/messages';
import type { ProcedureOutcome } from '../../workflows/procedures/common';
import { V2_STEP } from '../fixtures/versioning/workflows-v2';
import { FAST_REENCRYPT, type KmsflowTestEnv, resultWithin, startKmsflowEnv } from '../helpers/kmsflow-env';
import { waitUntil } from '../helpers/wait';

const estate = (seed: number) => ({ count: 40, namespaces: 2, seed, maxBytes: 2048 });
const CLUSTERS = ['aks-gate', 'aks-new', 'aks-orphan', 'aks-busy'] as const;
/** aks-busy is mid-re-encryption when v2 becomes current: more Secrets, written at a capped rate, and held by a pause. */
const BUSY_SECRETS = 300;
const BUSY_REENCRYPT = { ...FAST_REENCRYPT, maxQps: 40 };

const scenario: ScenarioInput = {
  seed: 19,
  tenantId: '72f988bf-0000-4000-a000-00000000c0de',
  subscriptions: [
    { id: '11111111-2222-4333-8444-555555555555', resourceGroups: [{ name: 'rg-ver', location: 'eastus' }] },
  ],
  principals: [{ name: 'operator', type: 'User' }],
  operator: 'operator',
  identities: [{ name: 'id-kms' }],
  vaults: [{ name: 'kv-ver', enablePurgeProtection: true, keys: [{ name: 'kms', versions: 1 }] }],
  roleAssignments: [
    { role: 'Key Vault Crypto Officer', principal: 'operator', scope: 'vault:kv-ver' },
    { role: 'Key Vault Crypto User', principal: 'id-kms', scope: 'vault:kv-ver' },
  ],
  clusters: CLUSTERS.map((name, i) => ({
    name,
    kubernetesVersion: '1.29',
    identity: 'id-kms',
    kms: { vault: 'kv-ver', key: 'kms', version: 1, networkAccess: 'Public' as const },
    secrets: name === 'aks-busy' ? { ...estate(i + 1), count: BUSY_SECRETS } : estate(i + 1),
  })),
};

const V1: WorkerVersion = { deploymentName: DEPLOYMENT_NAME, buildId: '0.1.0-v1' };
const V2: WorkerVersion = { deploymentName: DEPLOYMENT_NAME, buildId: '0.2.0-v2' };
const WAIT_MS = 120_000;

let env: KmsflowTestEnv;
let v2Bundle: string;
/** Calls of the activity v2 changed, as the v2 worker made them. */
let v2DigestReads = 0;

beforeAll(async () => {
  env = await startKmsflowEnv(scenario);
  v2Bundle = (
    await bundleWorkflowCode({
      workflowsPath: path.resolve(__dirname, '../fixtures/versioning/workflows-v2.ts'),
      logger: new DefaultLogger('WARN'),
    })
  ).code;
});

/** Every worker still running, stopped before the dev server goes (also when a test failed half-way). */
const running = new Set<RunningWorker>();

afterAll(async () => {
  for (const w of running) await stop(w).catch(() => undefined);
  await env?.teardown();
});

interface RunningWorker {
  worker: Worker;
  done: Promise<void>;
}

async function startWorker(version: WorkerVersion): Promise<RunningWorker> {
  const v2 = version === V2;
  const activities = v2
    ? {
        ...env.activities,
        // The changed activity: same contract, v2's own implementation.
        getClusterDigest: async (clusterId: string) => {
          v2DigestReads++;
          return env.activities.getClusterDigest(clusterId);
        },
      }
    : env.activities;
  const worker = await createKmsflowWorker({
    connection: env.temporal.env.nativeConnection,
    namespace: env.temporal.server.namespace,
    taskQueue: env.taskQueue,
    workflowBundle: { code: v2 ? v2Bundle : env.workflowBundle.code },
    activities,
    version,
    identity: `worker ${version.buildId}`,
  });
  const w = { worker, done: worker.run() };
  running.add(w);
  return w;
}

async function stop(w: RunningWorker): Promise<void> {
  running.delete(w);
  if (w.worker.getState() === 'RUNNING') w.worker.shutdown();
  await w.done;
}

function startDisable(
  cluster: string,
  approve: boolean,
  reencrypt = FAST_REENCRYPT,
): Promise<WorkflowHandle> {
  return env.temporal.env.client.workflow.start('disableKms', {
    taskQueue: env.taskQueue,
    workflowId: procedureWorkflowId(env.clusterId(cluster, 'rg-ver')),
    args: [
      { clusterId: env.clusterId(cluster, 'rg-ver'), reencrypt, ...(approve ? { autoApprove: 'all' } : {}) },
    ],
  });
}

const untilReencrypting = (handle: WorkflowHandle) =>
  waitUntil(
    () => handle.query(progressQuery),
    (p: ProcedureProgress) =>
      (p.steps.find((s) => s.id === 'reencrypt' && s.status === 'running')?.progress?.done ?? 0) > 0,
    { what: 'aks-busy re-encrypting', timeoutMs: WAIT_MS },
  );

async function v1Procedures(): Promise<number> {
  const v1 = (await readDeployment(env.temporal.env.client))?.versions.find((v) => v.buildId === V1.buildId);
  return v1?.runningProcedures ?? -1;
}

const untilWaitingApproval = (handle: WorkflowHandle) =>
  waitUntil(
    () => handle.query(progressQuery),
    (p: ProcedureProgress) => p.phase === 'waiting-approval',
    { what: 'the disable-kms gate', timeoutMs: WAIT_MS },
  );

async function pinnedBuildId(handle: WorkflowHandle): Promise<string | undefined> {
  const info = (await handle.describe()).raw.workflowExecutionInfo?.versioningInfo;
  return info?.deploymentVersion?.buildId ?? undefined;
}

const stepIds = (outcome: ProcedureOutcome) => outcome.progress.steps.map((s) => s.id);

it(
  'finishes v1 procedures on v1 after v2 became current, runs new ones on v2, and says which version a stranded one waits for',
  async () => {
    const client = env.temporal.env.client;
    const etcdPlain = (cluster: string) =>
      env.sandbox
        .kubeCluster(cluster)!
        .etcdView()
        .every((e) => e.provider.type === 'identity');

    // v1 is current; two procedures start on it and wait at the disable gate, a third is re-encrypting.
    let v1 = await startWorker(V1);
    expect(await promoteToCurrent(client, V1)).toBe('promoted');
    const gate = await startDisable('aks-gate', false);
    const orphan = await startDisable('aks-orphan', false);
    const busy = await startDisable('aks-busy', true, BUSY_REENCRYPT);
    await untilWaitingApproval(gate);
    await untilWaitingApproval(orphan);
    await untilReencrypting(busy);
    // Held mid-re-encryption while the upgrade happens (a pause: the machine's pace must not decide the test).
    await busy.signal(pauseSignal, { requestedBy: 'test' });
    expect(await pinnedBuildId(gate)).toBe(V1.buildId);

    // v2 is deployed alongside and made current: new procedures run its step list.
    const v2 = await startWorker(V2);
    expect(await promoteToCurrent(client, V2)).toBe('promoted');
    expect(await currentVersion(client)).toBe(V2.buildId);
    const busyStep = (await busy.query(progressQuery)).steps.find((st) => st.id === 'reencrypt');
    expect(busyStep?.status).toBe('running'); // v2 became current mid-re-encryption
    expect(busyStep?.progress?.done).toBeLessThan(busyStep?.progress?.total ?? 0);

    // What the operator sees: v2 takes new procedures, v1 still serves the three pinned to it.
    const deployment = await readDeployment(client);
    expect(deployment?.current).toBe(V2.buildId);
    expect(deployment?.versions.find((v) => v.buildId === V1.buildId)).toMatchObject({
      runningProcedures: 3,
      workersNeeded: true,
    });
    const listed = (await listProcedures(client, { status: 'running' }, 10)).rows.find(
      (r) => r.workflowId === gate.workflowId,
    );
    expect(listed?.workerVersion).toEqual({
      deploymentName: DEPLOYMENT_NAME,
      buildId: V1.buildId,
      behavior: 'pinned',
    });
    const fresh = await startDisable('aks-new', true);
    const freshOutcome = await resultWithin<ProcedureOutcome>(fresh, WAIT_MS);
    expect(freshOutcome.outcome).toBe('completed');
    expect(stepIds(freshOutcome)[1]).toBe(V2_STEP);
    expect(await pinnedBuildId(fresh)).toBe(V2.buildId);
    expect(v2DigestReads).toBeGreaterThan(0);
    expect(etcdPlain('aks-new')).toBe(true);
    // The key ledger is not pinned: it follows the current version.
    const ledger = client.workflow.getHandle(ledgerWorkflowId(env.clusterId('aks-new', 'rg-ver')));
    expect((await ledger.describe()).raw.workflowExecutionInfo?.versioningInfo?.behavior).toBe(
      temporal.api.enums.v1.VersioningBehavior.VERSIONING_BEHAVIOR_AUTO_UPGRADE,
    );

    // The re-encryption v1 began goes on on v1 (across its continue-as-new runs) and is proven.
    await busy.signal(resumeSignal, { requestedBy: 'test' });
    const busyOutcome = await resultWithin<ProcedureOutcome>(busy, WAIT_MS);
    expect(busyOutcome.outcome).toBe('completed');
    expect(stepIds(busyOutcome)).not.toContain(V2_STEP);
    expect(busyOutcome.evidence.map((e) => e.proven)).toEqual([true]);
    expect(await pinnedBuildId(busy)).toBe(V1.buildId);
    expect(etcdPlain('aks-busy')).toBe(true);

    // The procedure v1 started finishes on v1, with v1's steps, after its approval.
    await gate.executeUpdate(approveUpdate, { args: [{ gate: 'disable-kms', approver: 'test' }] });
    const gateOutcome = await resultWithin<ProcedureOutcome>(gate, WAIT_MS);
    expect(gateOutcome.outcome).toBe('completed');
    expect(stepIds(gateOutcome)).not.toContain(V2_STEP);
    expect(await pinnedBuildId(gate)).toBe(V1.buildId);
    expect(etcdPlain('aks-gate')).toBe(true);

    // v1 is gone while a procedure pinned to it still waits: v2 does not take it over, and status says why.
    await stop(v1);
    const stranded = await readSnapshot(client, orphan.workflowId);
    expect(stranded.status).toBe('running');
    expect(stranded.workerVersion).toEqual({
      deploymentName: DEPLOYMENT_NAME,
      buildId: V1.buildId,
      behavior: 'pinned',
    });
    expect(stranded.note).toContain(`No worker of version ${DEPLOYMENT_NAME}/${V1.buildId} answered`);

    // A v1 worker again (the operator keeps the old release until drained): the procedure goes on and completes.
    v1 = await startWorker(V1);
    await orphan.executeUpdate(approveUpdate, { args: [{ gate: 'disable-kms', approver: 'test' }] });
    const orphanOutcome = await resultWithin<ProcedureOutcome>(orphan, WAIT_MS);
    expect(orphanOutcome.outcome).toBe('completed');
    expect(stepIds(orphanOutcome)).not.toContain(V2_STEP);
    expect(etcdPlain('aks-orphan')).toBe(true);
    // Drained: nothing runs on v1 any more, and `kmsflow versions` says its workers can stop.
    await waitUntil(v1Procedures, (n) => n === 0, { what: 'v1 drained', timeoutMs: WAIT_MS });
    expect(
      (await readDeployment(client))?.versions.find((v) => v.buildId === V1.buildId)?.workersNeeded,
    ).toBe(false);

    await stop(v1);
    await stop(v2);
  },
  6 * WAIT_MS,
);
