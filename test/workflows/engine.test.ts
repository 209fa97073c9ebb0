import * as fs from 'node:fs';
import * as path from 'node:path';
import { ApplicationFailure } from '@temporalio/activity';
import { type WorkflowHandle, WorkflowUpdateFailedError } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import type { Worker, WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createKmsflowWorker } from '../../worker/create-worker';
import {
  approveUpdate,
  cancelUpdate,
  ClusterAttribute,
  PhaseAttribute,
  pauseSignal,
  type ProcedureProgress,
  progressQuery,
  resumeSignal,
  retryUpdate,
} from '../../workflows/messages';
import { bundleTestWorkflows, startTemporalTestEnv, type TemporalTestEnv } from '../helpers/temporal-env';
import { latch, waitUntil } from '../helpers/wait';
import type { ProbeActivities } from './probe-activities';
import type { probeProcedure, ProbeInput } from './probe';

const TASK_QUEUE = 'engine-test';
const RECORD_DIR = path.resolve('test/fixtures/histories');
const recording = process.env.KMSFLOW_RECORD_HISTORIES === '1';

let temporal: TemporalTestEnv;
let bundle: WorkflowBundleWithSourceMap;
let calls: string[];
let failCheckWith: { message: string; code: string; fix: string } | undefined;
let holdBatch: { batch: number; promise: Promise<void> } | undefined;

const activities: ProbeActivities = {
  async check(cluster) {
    calls.push(`check:${cluster}`);
    if (failCheckWith) {
      throw ApplicationFailure.create({
        message: failCheckWith.message,
        type: failCheckWith.code,
        nonRetryable: true,
        details: [{ code: failCheckWith.code, fix: failCheckWith.fix }],
      });
    }
  },
  async change(cluster) {
    calls.push(`change:${cluster}`);
  },
  async rewriteBatch(batch) {
    calls.push(`rewrite:${batch}`);
    if (holdBatch?.batch === batch) await holdBatch.promise;
    return 10;
  },
  async verify(cluster) {
    calls.push(`verify:${cluster}`);
  },
};

beforeAll(async () => {
  temporal = await startTemporalTestEnv();
  bundle = await bundleTestWorkflows('test/workflows/probe.ts');
});

afterAll(async () => {
  await temporal?.teardown();
});

beforeEach(() => {
  calls = [];
  failCheckWith = undefined;
  holdBatch = undefined;
});

async function withWorker<T>(fn: (worker: Worker) => Promise<T>): Promise<T> {
  const worker = await createKmsflowWorker({
    connection: temporal.env.nativeConnection,
    namespace: temporal.server.namespace,
    taskQueue: TASK_QUEUE,
    workflowBundle: bundle,
    activities,
  });
  return worker.runUntil(() => fn(worker));
}

let runCounter = 0;
async function startProbe(input: Omit<ProbeInput, 'cluster'> & { cluster?: string }) {
  runCounter += 1;
  const cluster = input.cluster ?? `aks-probe-${runCounter}`;
  return temporal.env.client.workflow.start<typeof probeProcedure>('probeProcedure', {
    taskQueue: TASK_QUEUE,
    workflowId: `probe-${cluster}-${Date.now()}`,
    args: [{ ...input, cluster }],
  });
}

const progressOf = (handle: WorkflowHandle) => handle.query(progressQuery);
const untilPhase = (handle: WorkflowHandle, phase: ProcedureProgress['phase']) =>
  waitUntil(
    () => progressOf(handle),
    (p) => p.phase === phase,
    { what: `phase ${phase}` },
  );

async function record(name: string, handle: WorkflowHandle): Promise<void> {
  if (!recording) return;
  const history = await handle.fetchHistory();
  fs.mkdirSync(RECORD_DIR, { recursive: true });
  fs.writeFileSync(
    path.join(RECORD_DIR, `${name}.json`),
    JSON.stringify(JSON.parse(historyToJSON(history)), null, 1),
  );
}

describe('procedure engine on a real Temporal dev server', () => {
  it('runs the steps in order, skips what does not apply, and records auto-approval', async () => {
    await withWorker(async () => {
      const handle = await startProbe({ batches: 3, autoApprove: 'all', cluster: 'aks-order' });
      const result = await handle.result();
      expect(result.outcome).toBe('completed');
      expect(calls).toEqual([
        'check:aks-order',
        'change:aks-order',
        'rewrite:0',
        'rewrite:1',
        'rewrite:2',
        'verify:aks-order',
      ]);
      expect(result.progress.steps.map((s) => [s.id, s.status])).toEqual([
        ['preflight', 'done'],
        ['change', 'done'],
        ['rewrite', 'done'],
        ['optional', 'skipped'],
        ['verify', 'done'],
      ]);
      expect(result.progress.steps[2]?.progress).toMatchObject({ done: 30, total: 30, unit: 'items' });
      expect(result.progress.approvals).toEqual([
        expect.objectContaining({ gate: 'change', auto: true, approver: 'test' }),
      ]);
      expect(result.progress.phase).toBe('completed');
      await record('probe-auto-approved', handle);
    });
  });

  it('waits at the gate; the validator rejects a wrong gate or a missing approver; approval continues', async () => {
    await withWorker(async () => {
      const handle = await startProbe({ batches: 1 });
      const waiting = await untilPhase(handle, 'waiting-approval');
      expect(waiting.currentStep).toBe('change');
      expect(waiting.steps[1]?.status).toBe('waiting-approval');
      expect(calls).toEqual([`check:${waiting.cluster}`]);

      await expect(
        handle.executeUpdate(approveUpdate, { args: [{ gate: 'other', approver: 'alice' }] }),
      ).rejects.toThrow(WorkflowUpdateFailedError);
      await expect(
        handle.executeUpdate(approveUpdate, { args: [{ gate: 'change', approver: ' ' }] }),
      ).rejects.toThrow(WorkflowUpdateFailedError);
      await expect(handle.executeUpdate(retryUpdate, { args: [{}] })).rejects.toThrow(
        WorkflowUpdateFailedError,
      );

      const approval = await handle.executeUpdate(approveUpdate, {
        args: [{ gate: 'change', approver: 'alice', comment: 'change window open' }],
      });
      expect(approval).toMatchObject({ gate: 'change', approver: 'alice', auto: false });
      const result = await handle.result();
      expect(result.outcome).toBe('completed');
      expect(result.progress.approvals).toHaveLength(1);
      expect(calls).toContain(`change:${waiting.cluster}`);
      await record('probe-approved', handle);
    });
  });

  it('pauses between units of work and resumes where it stopped', async () => {
    const held = latch();
    holdBatch = { batch: 1, promise: held.promise };
    await withWorker(async () => {
      const handle = await startProbe({ batches: 4, autoApprove: ['change'] });
      await waitUntil(
        async () => calls,
        (c) => c.includes('rewrite:1'),
        { what: 'batch 1 running' },
      );
      await handle.signal(pauseSignal, { requestedBy: 'bob' });
      held.release();
      const paused = await untilPhase(handle, 'paused');
      expect(paused.paused).toBe(true);
      expect(paused.steps[2]?.progress?.done).toBe(20);
      // Give a paused procedure's next workflow task its chance to start batch 2: a second pause request wakes
      // it, and once that task has completed, any batch it started is in the history.
      await handle.signal(pauseSignal, { requestedBy: 'bob' });
      const history = await waitUntil(
        () => handle.fetchHistory(),
        (h) => {
          const events = h.events ?? [];
          const secondPause = events.reduce(
            (last, e, i) => (e.workflowExecutionSignaledEventAttributes ? i : last),
            -1,
          );
          return events.slice(secondPause + 1).some((e) => e.workflowTaskCompletedEventAttributes);
        },
        { what: 'a workflow task after the second pause request' },
      );
      const scheduled = (history.events ?? []).filter(
        (e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'rewriteBatch',
      );
      expect(scheduled).toHaveLength(2);
      expect((await progressOf(handle)).phase).toBe('paused');
      expect(calls.filter((c) => c.startsWith('rewrite'))).toEqual(['rewrite:0', 'rewrite:1']);

      await handle.signal(resumeSignal, { requestedBy: 'bob' });
      const result = await handle.result();
      expect(result.outcome).toBe('completed');
      expect(calls.filter((c) => c.startsWith('rewrite'))).toEqual([
        'rewrite:0',
        'rewrite:1',
        'rewrite:2',
        'rewrite:3',
      ]);
      await record('probe-paused', handle);
    });
  });

  it('blocks on a non-retryable failure with its reason and fix, and retry re-runs the step', async () => {
    failCheckWith = {
      message: 'identity lacks Key Vault Crypto User',
      code: 'AzureKeyVaultKmsValidateIdentityPermissionCustomerError',
      fix: 'Assign the role Key Vault Crypto User to the identity on the vault.',
    };
    await withWorker(async () => {
      const handle = await startProbe({ batches: 1, autoApprove: 'all' });
      const blocked = await untilPhase(handle, 'blocked');
      expect(blocked.currentStep).toBe('preflight');
      expect(blocked.steps[0]).toMatchObject({
        status: 'blocked',
        attempts: 1,
        blocked: {
          message: 'identity lacks Key Vault Crypto User',
          code: 'AzureKeyVaultKmsValidateIdentityPermissionCustomerError',
          fix: 'Assign the role Key Vault Crypto User to the identity on the vault.',
        },
      });
      expect(calls.filter((c) => c.startsWith('change'))).toEqual([]);

      failCheckWith = undefined;
      const retried = await handle.executeUpdate(retryUpdate, { args: [{ requestedBy: 'carol' }] });
      expect(retried).toEqual({ step: 'preflight', attempt: 2 });
      const result = await handle.result();
      expect(result.outcome).toBe('completed');
      expect(result.progress.steps[0]).toMatchObject({ status: 'done', attempts: 2 });
      expect(result.progress.steps[0]?.blocked).toBeUndefined();
      await record('probe-blocked-retried', handle);
    });
  });

  it('cancels cleanly at a gate and while a step runs', async () => {
    await withWorker(async () => {
      const atGate = await startProbe({ batches: 1 });
      await untilPhase(atGate, 'waiting-approval');
      await expect(atGate.executeUpdate(cancelUpdate, { args: [{ reason: '' }] })).rejects.toThrow(
        WorkflowUpdateFailedError,
      );
      await atGate.executeUpdate(cancelUpdate, {
        args: [{ reason: 'change window closed', requestedBy: 'dave' }],
      });
      const gateResult = await atGate.result();
      expect(gateResult.outcome).toBe('cancelled');
      expect(gateResult.progress.steps.map((s) => s.status)).toEqual([
        'done',
        'cancelled',
        'pending',
        'pending',
        'pending',
      ]);
      expect(gateResult.progress.steps[1]?.detail).toBe('cancelled: change window closed');
      await expect(atGate.executeUpdate(cancelUpdate, { args: [{ reason: 'again' }] })).rejects.toThrow();
      await record('probe-cancelled-at-gate', atGate);

      const held = latch();
      holdBatch = { batch: 0, promise: held.promise };
      const running = await startProbe({ batches: 2, autoApprove: 'all' });
      await waitUntil(
        async () => calls,
        (c) => c.includes('rewrite:0'),
        { what: 'batch 0 running' },
      );
      await running.executeUpdate(cancelUpdate, { args: [{ reason: 'stop now' }] });
      const runningResult = await running.result();
      held.release();
      expect(runningResult.outcome).toBe('cancelled');
      expect(runningResult.progress.steps[2]?.status).toBe('cancelled');
      expect(runningResult.progress.steps[4]?.status).toBe('pending');
    });
  });

  it('publishes search attributes and current details the Web UI can show', async () => {
    await withWorker(async () => {
      const handle = await startProbe({ batches: 1, cluster: 'aks-visible' });
      await untilPhase(handle, 'waiting-approval');

      const found = await waitUntil(
        async () => {
          const ids: string[] = [];
          const query = `KmsCluster = 'aks-visible' AND KmsProcedure = 'probe' AND KmsPhase = 'waiting-approval' AND KmsStep = 'change'`;
          for await (const wf of temporal.env.client.workflow.list({ query })) ids.push(wf.workflowId);
          return ids;
        },
        (ids) => ids.length > 0,
        { what: 'visibility to index the search attributes' },
      );
      expect(found).toEqual([handle.workflowId]);

      const description = await handle.describe();
      expect(description.typedSearchAttributes.get(ClusterAttribute)).toBe('aks-visible');
      expect(description.typedSearchAttributes.get(PhaseAttribute)).toBe('waiting-approval');

      const metadata = await handle.query<{ currentDetails: string }>('__temporal_workflow_metadata');
      expect(metadata.currentDetails).toContain('**probe** on `aks-visible` — **waiting-approval**');
      expect(metadata.currentDetails).toContain('Step 2 of 5: Change the cluster');
      expect(metadata.currentDetails).toContain(`Run \`kmsflow approve ${handle.workflowId} change\``);

      await handle.executeUpdate(approveUpdate, { args: [{ gate: 'change', approver: 'erin' }] });
      await handle.result();
      await waitUntil(
        async () => (await handle.describe()).typedSearchAttributes.get(PhaseAttribute),
        (phase) => phase === 'completed',
        { what: 'phase completed in visibility' },
      );
    });
  });
});
