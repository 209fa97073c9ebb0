import { afterAll, beforeAll, beforeEach, describe, expect, it, onTestFinished } from 'vitest';
import type { ActionResult, ErrorShape, ProcedureList, ProcedureSnapshot } from '../../client/output/shapes';
import { procedureWorkflowId } from '../../workflows/messages';
import { latch, waitUntil } from '../helpers/wait';
import { parseJson, runBinary, runCli } from './cli-harness';
import { ProbeHarness } from './probe-harness';

let probe: ProbeHarness;
const cli = (...argv: string[]) => runCli([...argv, ...probe.connection], { env: { USER: 'tester' } });

beforeAll(async () => {
  probe = await ProbeHarness.start();
});

afterAll(async () => {
  await probe?.teardown();
});

beforeEach(() => {
  probe.controls.failCheck = undefined;
  probe.controls.batchDelayMs = 0;
  probe.controls.beforeBatch = undefined;
});

describe('status and approve', () => {
  it('shows a run waiting at its gate (exit 3), approves the waiting gate, then shows it completed (exit 0)', async () => {
    const handle = await probe.startProbe({ batches: 2, cluster: 'aks-gate' });
    const id = handle.workflowId;
    await probe.untilPhase(id, 'waiting-approval');

    const text = await cli('status', id);
    expect(text.code).toBe(3);
    expect(text.stderr).toBe('');
    expect(text.stdout).toContain('probe on aks-gate: waiting for approval');
    expect(text.stdout).toMatch(/✔ 1\s+Preflight/);
    expect(text.stdout).toMatch(/⏸ 2\s+Change the cluster\s+waiting for approval \(gate change\)/);
    expect(text.stdout).toContain(`Run: kmsflow approve ${id} change`);
    expect(text.stdout).not.toContain('\x1b[');

    const json = await cli('status', id, '--json');
    expect(json.code).toBe(3);
    const snapshot = parseJson<ProcedureSnapshot>(json.stdout);
    expect(snapshot).toMatchObject({
      workflowId: id,
      workflowType: 'probeProcedure',
      status: 'running',
      executionStatus: 'RUNNING',
      exitCode: 3,
      procedure: 'probe',
      cluster: 'aks-gate',
      phase: 'waiting-approval',
      paused: false,
      currentStep: 'change',
      source: 'query',
      note: null,
      failure: null,
      endedAt: null,
      approvals: [],
      waitingFor: {
        kind: 'approval',
        step: 'change',
        gate: 'change',
        command: `kmsflow approve ${id} change`,
        code: null,
        fix: null,
      },
    });
    expect(snapshot.steps.map((s) => [s.number, s.id, s.status])).toEqual([
      [1, 'preflight', 'done'],
      [2, 'change', 'waiting-approval'],
      [3, 'rewrite', 'pending'],
      [4, 'optional', 'pending'],
      [5, 'verify', 'pending'],
    ]);
    expect(Object.keys(snapshot.steps[1]!).sort()).toEqual(
      [
        'attempts',
        'blocked',
        'command',
        'detail',
        'endedAt',
        'gate',
        'id',
        'number',
        'progress',
        'startedAt',
        'status',
        'title',
      ].sort(),
    );

    const approved = await cli('approve', id);
    expect(approved).toMatchObject({ code: 0, stderr: '' });
    expect(approved.stdout).toContain(`Approved gate "change" of ${id} as tester`);

    await handle.result();
    const done = await cli('status', id, '--json');
    expect(done.code).toBe(0);
    const final = parseJson<ProcedureSnapshot>(done.stdout);
    expect(final).toMatchObject({
      status: 'completed',
      executionStatus: 'COMPLETED',
      phase: 'completed',
      exitCode: 0,
      source: 'result',
      waitingFor: null,
    });
    expect(final.approvals).toEqual([
      expect.objectContaining({ gate: 'change', approver: 'tester', auto: false, comment: null }),
    ]);
    expect(final.steps[2]?.progress).toMatchObject({ done: 20, total: 20, unit: 'items', etaSeconds: 0 });
    expect(final.endedAt).not.toBeNull();
  });

  it('approves a named gate with --as and --comment and prints the approval as JSON', async () => {
    const handle = await probe.startProbe({ batches: 1 });
    await probe.untilPhase(handle.workflowId, 'waiting-approval');
    const run = await cli(
      'approve',
      handle.workflowId,
      'change',
      '--as',
      'alice',
      '--comment',
      'window CHG-1',
      '--json',
    );
    expect(run.code).toBe(0);
    const result = parseJson<ActionResult>(run.stdout);
    expect(result).toMatchObject({
      workflowId: handle.workflowId,
      action: 'approve',
      requestedBy: 'alice',
      result: { gate: 'change', approver: 'alice', comment: 'window CHG-1', auto: false },
    });
    expect((await handle.result()).progress.approvals[0]).toMatchObject({
      approver: 'alice',
      comment: 'window CHG-1',
    });
  });

  it('turns a validator rejection into one sentence and exit 2, and refuses what cannot apply', async () => {
    const handle = await probe.startProbe({ batches: 1 });
    const id = handle.workflowId;
    await probe.untilPhase(id, 'waiting-approval');

    const wrongGate = await cli('approve', id, 'other');
    expect(wrongGate.code).toBe(2);
    expect(wrongGate.stdout).toBe('');
    expect(wrongGate.stderr.trim().split('\n')).toEqual([
      `kmsflow: ${id} refused to approve gate "other": gate "other" is not the one waiting; the procedure waits at gate "change".`,
    ]);

    const retry = await cli('retry', id, '--json');
    expect(retry.code).toBe(2);
    expect(parseJson<ErrorShape>(retry.stderr)).toEqual({
      error: {
        exitCode: 2,
        message: `${id} refused to retry: nothing to retry: the procedure is waiting-approval, not blocked.`,
      },
    });

    const resume = await cli('resume', id);
    expect(resume.code).toBe(2);
    expect(resume.stderr).toContain(`${id} is not waiting for a resume: it is waiting for approval.`);

    await cli('approve', id, '--as', 'bob');
    await handle.result();
    const late = await cli('approve', id);
    expect(late.code).toBe(2);
    expect(late.stderr).toContain(`${id} has already ended (completed): there is nothing to approve.`);
  });

  it("finds a cluster's procedure by the cluster's resource id", async () => {
    const armId =
      '/subscriptions/0000-1111/resourceGroups/rg-cli/providers/Microsoft.ContainerService/managedClusters/aks-arm';
    const handle = await probe.startProbe({
      batches: 1,
      cluster: 'aks-arm',
      workflowId: procedureWorkflowId(armId),
    });
    await probe.untilPhase(handle.workflowId, 'waiting-approval');
    const run = await cli(
      'status',
      armId.toUpperCase().replace('/SUBSCRIPTIONS/', '/subscriptions/'),
      '--json',
    );
    expect(run.code).toBe(3);
    const snapshot = parseJson<ProcedureSnapshot>(run.stdout);
    expect(snapshot.workflowId).toBe(`kmsflow:${armId.toLowerCase()}`);
    expect(snapshot.waitingFor?.command).toBe(`kmsflow approve kmsflow:${armId.toLowerCase()} change`);
    expect((await cli('approve', armId)).code).toBe(0);
    expect((await handle.result()).outcome).toBe('completed');
  });

  it('answers exit 5 and names an unknown workflow id, in text and JSON', async () => {
    const text = await cli('status', 'no-such-procedure');
    expect(text.code).toBe(5);
    expect(text.stderr).toBe(
      `kmsflow: No workflow "no-such-procedure" in namespace default at ${probe.address}: check the id with \`kmsflow list\`.\n`,
    );
    const json = await cli('approve', 'no-such-procedure', '--json');
    expect(json.code).toBe(5);
    expect(parseJson<ErrorShape>(json.stderr).error).toMatchObject({ exitCode: 5 });
    expect(parseJson<ErrorShape>(json.stderr).error.message).toContain('"no-such-procedure"');

    const namespace = await runCli([
      'status',
      'any',
      '--address',
      probe.address,
      '--namespace',
      'no-such-namespace',
    ]);
    expect(namespace.code).toBe(5);
    expect(namespace.stderr).toBe(
      `kmsflow: Namespace "no-such-namespace" does not exist at ${probe.address}: pass --namespace or set TEMPORAL_NAMESPACE to an existing one.\n`,
    );
  });
});

describe('blocked, retry, pause, resume, cancel', () => {
  it('shows a blocked step with its fix (exit 3); retry re-runs it until it passes', async () => {
    probe.controls.failCheck = {
      message: 'identity lacks Key Vault Crypto User',
      code: 'AzureKeyVaultKmsValidateIdentityPermissionCustomerError',
      fix: 'Assign the role Key Vault Crypto User to the identity on the vault.',
    };
    const handle = await probe.startProbe({ batches: 1, autoApprove: 'all' });
    const id = handle.workflowId;
    await probe.untilPhase(id, 'blocked');

    const text = await cli('status', id);
    expect(text.code).toBe(3);
    expect(text.stdout).toContain('✖ 1');
    expect(text.stdout).toContain(
      'blocked: identity lacks Key Vault Crypto User (AzureKeyVaultKmsValidateIdentityPermissionCustomerError)',
    );
    expect(text.stdout).toContain('Fix: Assign the role Key Vault Crypto User to the identity on the vault.');
    expect(text.stdout).toContain(`Run: kmsflow retry ${id}`);
    const snapshot = parseJson<ProcedureSnapshot>((await cli('status', id, '--json')).stdout);
    expect(snapshot.waitingFor).toMatchObject({
      kind: 'blocked',
      step: 'preflight',
      code: 'AzureKeyVaultKmsValidateIdentityPermissionCustomerError',
      fix: 'Assign the role Key Vault Crypto User to the identity on the vault.',
      command: `kmsflow retry ${id}`,
    });

    const again = await cli('retry', id, '--json', '--as', 'carol');
    expect(again.code).toBe(0);
    expect(parseJson<ActionResult>(again.stdout)).toMatchObject({
      action: 'retry',
      requestedBy: 'carol',
      result: { step: 'preflight', attempt: 2 },
    });
    await waitUntil(
      () => probe.progress(id),
      (p) => p.phase === 'blocked' && p.steps[0]?.attempts === 2,
      { what: 'second block' },
    );

    probe.controls.failCheck = undefined;
    const fixed = await cli('retry', id);
    expect(fixed.code).toBe(0);
    expect(fixed.stdout).toContain(`Retrying step "preflight" of ${id} (attempt 3).`);
    expect((await handle.result()).outcome).toBe('completed');
  });

  it('pauses, says it is paused (exit 3), resumes, and cancels with a reason (exit 4 afterwards)', async () => {
    // The first batch runs only once the pause is requested, the next ones only once the cancel is: the run is
    // mid-step at each, however long the commands take.
    const untilPaused = latch();
    const untilCancelled = latch();
    probe.controls.beforeBatch = (batch) => (batch === 0 ? untilPaused.promise : untilCancelled.promise);
    onTestFinished(() => [untilPaused, untilCancelled].forEach((held) => held.release()));
    const handle = await probe.startProbe({ batches: 4, autoApprove: 'all', cluster: 'aks-pause' });
    const id = handle.workflowId;
    await waitUntil(
      () => probe.progress(id),
      (p) => p.currentStep === 'rewrite',
      { what: 'rewrite running' },
    );

    const paused = await cli('pause', id, '--as', 'dave');
    expect(paused.code).toBe(0);
    expect(paused.stdout).toContain(`Pause requested: ${id} stops at its next checkpoint`);
    untilPaused.release();
    await probe.untilPhase(id, 'paused');
    const status = await cli('status', id);
    expect(status.code).toBe(3);
    expect(status.stdout).toContain('probe on aks-pause: paused');
    expect(status.stdout).toContain(`Run: kmsflow resume ${id}`);
    expect((await cli('pause', id)).stdout).toContain(`${id} is already paused`);

    const resumed = await cli('resume', id, '--json');
    expect(resumed.code).toBe(0);
    expect(parseJson<ActionResult>(resumed.stdout)).toMatchObject({
      action: 'resume',
      requestedBy: 'tester',
      result: null,
    });
    await probe.untilPhase(id, 'running');

    const cancelled = await cli('cancel', id, '--reason', 'change window closed');
    untilCancelled.release();
    expect(cancelled.code).toBe(0);
    expect(cancelled.stdout).toContain(`Cancelling ${id} (change window closed).`);
    expect((await handle.result()).outcome).toBe('cancelled');

    const after = await cli('status', id, '--json');
    expect(after.code).toBe(4);
    const snapshot = parseJson<ProcedureSnapshot>(after.stdout);
    expect(snapshot).toMatchObject({
      status: 'cancelled',
      executionStatus: 'COMPLETED',
      phase: 'cancelled',
      exitCode: 4,
    });
    expect(snapshot.steps[2]).toMatchObject({
      status: 'cancelled',
      detail: 'cancelled: change window closed',
    });
  });

  it('reports a run Temporal terminated as terminated with its reason (exit 4)', async () => {
    const handle = await probe.startProbe({ batches: 1 });
    await probe.untilPhase(handle.workflowId, 'waiting-approval');
    await handle.terminate('operator gave up');
    const run = await cli('status', handle.workflowId, '--json');
    expect(run.code).toBe(4);
    expect(parseJson<ProcedureSnapshot>(run.stdout)).toMatchObject({
      status: 'terminated',
      executionStatus: 'TERMINATED',
      failure: 'operator gave up',
      exitCode: 4,
    });
  });
});

describe('list', () => {
  it('filters on cluster (quoted safely), procedure, phase and status, as a table and as JSON', async () => {
    const odd = "aks-o'brien";
    const waiting = await probe.startProbe({ batches: 1, cluster: odd });
    const other = await probe.startProbe({ batches: 1, cluster: 'aks-list-other' });
    await probe.untilPhase(waiting.workflowId, 'waiting-approval');
    await probe.untilPhase(other.workflowId, 'waiting-approval');

    const listed = await waitUntil(
      async () => parseJson<ProcedureList>((await cli('list', '--cluster', odd, '--json')).stdout),
      (list) => list.procedures.length > 0 && list.procedures[0]?.phase === 'waiting-approval',
      { what: 'visibility of the quoted cluster' },
    );
    expect(listed.query).toBe(`KmsProcedure IS NOT NULL AND KmsCluster = 'aks-o\\'brien'`);
    expect(listed.procedures).toEqual([
      {
        workflowId: waiting.workflowId,
        runId: waiting.firstExecutionRunId,
        firstRunId: waiting.firstExecutionRunId,
        procedure: 'probe',
        cluster: odd,
        phase: 'waiting-approval',
        step: 'change',
        status: 'running',
        executionStatus: 'RUNNING',
        startedAt: expect.any(String),
        endedAt: null,
        // Not a cluster's procedure workflow: no key ledger to take a proof from.
        proof: null,
        // The test's worker is unversioned.
        workerVersion: null,
      },
    ]);

    const table = await cli(
      'list',
      '--procedure',
      'probe',
      '--phase',
      'waiting-approval',
      '--status',
      'running',
    );
    expect(table.code).toBe(0);
    const lines = table.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(
      /^WORKFLOW ID\s+RUN\s+PROCEDURE\s+CLUSTER\s+PHASE\s+STEP\s+STATUS\s+PROOF\s+VERSION\s+STARTED$/,
    );
    expect(
      lines.some(
        (l) => l.startsWith(waiting.workflowId) && l.includes('waiting-approval') && l.includes('running'),
      ),
    ).toBe(true);
    expect(lines.some((l) => l.startsWith(other.workflowId))).toBe(true);

    const limited = parseJson<ProcedureList>((await cli('list', '--limit', '1', '--json')).stdout);
    expect(limited.procedures).toHaveLength(1);

    const running = await cli('status');
    expect(running.code).toBe(0);
    expect(running.stdout).toContain(other.workflowId);

    await cli('cancel', waiting.workflowId, '--reason', 'done listing');
    await cli('cancel', other.workflowId, '--reason', 'done listing');
    const cancelled = await waitUntil(
      async () =>
        parseJson<ProcedureList>(
          (await cli('list', '--cluster', odd, '--status', 'cancelled', '--json')).stdout,
        ),
      (list) => list.procedures.length === 1,
      { what: 'the cancelled procedure in visibility' },
    );
    expect(cancelled.procedures[0]).toMatchObject({
      status: 'cancelled',
      executionStatus: 'COMPLETED',
      phase: 'cancelled',
    });
    const none = parseJson<ProcedureList>(
      (await cli('list', '--cluster', odd, '--status', 'running', '--json')).stdout,
    );
    expect(none.procedures).toEqual([]);
  });
});

describe('the kmsflow binary', () => {
  it('runs as a real process, finds Temporal through TEMPORAL_ADDRESS, and exits with the documented code', async () => {
    const handle = await probe.startProbe({ batches: 1, cluster: 'aks-binary' });
    await probe.untilPhase(handle.workflowId, 'waiting-approval');
    const env = {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      USER: 'binary-user',
      TEMPORAL_ADDRESS: probe.address,
      NO_COLOR: '1',
    };
    const status = await runBinary(['status', handle.workflowId, '--json'], env);
    expect(status.stderr).toBe('');
    expect(status.code).toBe(3);
    expect(parseJson<ProcedureSnapshot>(status.stdout)).toMatchObject({
      cluster: 'aks-binary',
      phase: 'waiting-approval',
    });

    const approve = await runBinary(['approve', handle.workflowId], env);
    expect(approve.code).toBe(0);
    expect(approve.stdout).toContain('as binary-user');
    expect((await handle.result()).outcome).toBe('completed');
  });
});
