/* eslint-disable no-control-regex -- these tests match the terminal escape sequences of the live view */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ProcedureSnapshot } from '../../client/output/shapes';
import { waitUntil } from '../helpers/wait';
import { parseJson, runCli, type RunOptions } from './cli-harness';
import { ProbeHarness } from './probe-harness';

let probe: ProbeHarness;
const cli = (argv: string[], options: RunOptions = {}) =>
  runCli([...argv, ...probe.connection], { env: { USER: 'tester' }, ...options });

beforeAll(async () => {
  probe = await ProbeHarness.start();
});

afterAll(async () => {
  await probe?.teardown();
});

beforeEach(() => {
  probe.controls.batchDelayMs = 0;
  probe.controls.beforeBatch = undefined;
});

/** Index of the first line that contains `text`; -1 when none does. */
const lineIndex = (lines: string[], text: string) => lines.findIndex((l) => l.includes(text));

/**
 * Holds each rewrite batch after the first until the watch has shown the progress of the one before it, so
 * every step of the progress is seen mid-run however loaded the machine (not only when a poll happens to
 * fall inside a batch).
 */
function batchesAfterShown(shown: () => string, total: number): (batch: number) => Promise<void> {
  return async (batch) => {
    if (batch === 0) return;
    const progress = `${batch * 10} / ${total} items`;
    await waitUntil(
      async () => shown(),
      (out) => out.includes(progress),
      { what: `the watch to show ${progress}`, intervalMs: 20 },
    );
  };
}

describe('watch without a terminal', () => {
  it('without an id follows the only running procedure; --exit-on-wait stops at the gate with exit 3', async () => {
    const handle = await probe.startProbe({ batches: 1, cluster: 'aks-only' });
    await probe.untilPhase(handle.workflowId, 'waiting-approval');
    await waitUntil(
      async () => (await cli(['list', '--status', 'running', '--json'])).stdout,
      (out) => out.includes(handle.workflowId),
      { what: 'the run in visibility' },
    );
    const run = await cli(['watch', '--exit-on-wait']);
    expect(run.code).toBe(3);
    expect(run.stdout).toContain(`${handle.workflowId}: probe on aks-only, waiting for approval`);
    expect(run.stdout).toContain(`Run: kmsflow approve ${handle.workflowId} change`);
    await handle.cancel();
  });

  it('prints one line per transition of a probe run and exits 0 when it completes', async () => {
    let shown = '';
    probe.controls.beforeBatch = batchesAfterShown(() => shown, 50);
    const handle = await probe.startProbe({ batches: 5, autoApprove: 'all', cluster: 'aks-watch' });
    const run = await cli(['watch', handle.workflowId, '--interval', '0.1'], {
      onStdout: (soFar) => (shown = soFar),
    });
    expect(run.code).toBe(0);
    expect(run.stderr).toBe('');
    expect(run.stdout).not.toContain('\x1b[');
    const lines = run.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(new RegExp(`^${handle.workflowId}: probe on aks-watch, `));
    const progressLines = lines.filter((l) => /^step 3\/5 rewrite: (running \()?\d+ \/ 50 items/.test(l));
    expect(progressLines.length).toBeGreaterThanOrEqual(2);
    expect(progressLines.some((l) => /items\/s · ETA \d/.test(l))).toBe(true);
    const order = [
      lineIndex(lines, 'step 1/5 preflight: done'),
      lines.indexOf(progressLines[0]!),
      lineIndex(lines, 'step 3/5 rewrite: done (50 items)'),
      lineIndex(lines, 'step 4/5 optional: skipped'),
      lineIndex(lines, 'step 5/5 verify: done'),
      lineIndex(lines, `${handle.workflowId} completed`),
    ];
    expect(order.every((i) => i >= 0)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    expect(lines[lines.length - 1]).toBe(`${handle.workflowId} completed`);
    // No line repeats: only changes are printed.
    expect(new Set(lines).size).toBe(lines.length);
  });

  it('shows what the run waits for, goes on after approve, and streams JSON snapshots with --json', async () => {
    const handle = await probe.startProbe({ batches: 2, cluster: 'aks-watch-json' });
    const id = handle.workflowId;
    let approved: Promise<unknown> | undefined;
    const run = await cli(['watch', id, '--interval', '0.1', '--json'], {
      onStdout: (soFar) => {
        if (!approved && soFar.includes('"kind":"approval"'))
          approved = cli(['approve', id, '--as', 'watcher']);
      },
    });
    await approved;
    expect(run.code).toBe(0);
    const snapshots = run.stdout
      .trimEnd()
      .split('\n')
      .map((line) => parseJson<ProcedureSnapshot>(line));
    expect(snapshots.length).toBeGreaterThanOrEqual(2);
    const waiting = snapshots.find((s) => s.phase === 'waiting-approval');
    expect(waiting?.waitingFor).toMatchObject({
      kind: 'approval',
      gate: 'change',
      command: `kmsflow approve ${id} change`,
    });
    expect(waiting?.exitCode).toBe(3);
    const last = snapshots[snapshots.length - 1]!;
    expect(last).toMatchObject({ workflowId: id, status: 'completed', exitCode: 0, phase: 'completed' });
    expect(last.approvals[0]).toMatchObject({ gate: 'change', approver: 'watcher' });
    for (let i = 1; i < snapshots.length; i++) expect(snapshots[i]).not.toEqual(snapshots[i - 1]);
  });

  it('exits 4 when the run is cancelled while watched', async () => {
    const handle = await probe.startProbe({ batches: 1, cluster: 'aks-watch-cancel' });
    const id = handle.workflowId;
    let cancelled: Promise<unknown> | undefined;
    const run = await cli(['watch', id, '--interval', '0.1'], {
      onStdout: (soFar) => {
        if (!cancelled && soFar.includes('waiting for approval'))
          cancelled = cli(['cancel', id, '--reason', 'not today']);
      },
    });
    await cancelled;
    expect(run.code).toBe(4);
    const lines = run.stdout.trimEnd().split('\n');
    expect(lines).toContain('step 2/5 change: cancelled (cancelled: not today)');
    expect(lines[lines.length - 1]).toBe(`${id} cancelled`);
  });
});

describe('watch on a terminal', () => {
  it('redraws one live frame in place with marks, a progress bar, rate and ETA, in colour', async () => {
    let shown = '';
    probe.controls.beforeBatch = batchesAfterShown(() => shown, 60);
    const handle = await probe.startProbe({ batches: 6, autoApprove: 'all', cluster: 'aks-live' });
    const run = await cli(['watch', handle.workflowId, '--interval', '0.1'], {
      isTTY: true,
      columns: 90,
      env: { USER: 'tester' },
      onStdout: (soFar) => (shown = soFar),
    });
    expect(run.code).toBe(0);
    expect(run.stdout.startsWith('\x1b[?25l')).toBe(true);
    expect(run.stdout.endsWith('\x1b[?25h')).toBe(true);
    expect(run.stdout).toMatch(/\x1b\[\d+F\x1b\[J/);
    expect(run.stdout).toMatch(/\[█+░*\]/);
    expect(run.stdout).toMatch(/\d+ \/ 60 items · [\d.]+ items\/s · ETA \d+s/);
    expect(run.stdout).toContain('\x1b[32m✔\x1b[39m');
    expect(run.stdout).toContain('Ctrl-C stops watching; the procedure keeps running.');
    // The final frame (after the last redraw) shows the completed run without the Ctrl-C hint.
    const finalFrame = run.stdout.slice(run.stdout.lastIndexOf('\x1b[J'));
    expect(finalFrame).toContain('completed');
    expect(finalFrame).not.toContain('Ctrl-C');
    for (const line of finalFrame.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '').split('\n'))
      expect(line.length).toBeLessThanOrEqual(90);
  });

  it('leaves colours out when NO_COLOR is set, and Ctrl-C stops watching but not the procedure', async () => {
    const handle = await probe.startProbe({ batches: 1, cluster: 'aks-ctrl-c' });
    let interrupt: (() => void) | undefined;
    const run = await cli(['watch', handle.workflowId, '--interval', '0.1'], {
      isTTY: true,
      env: { USER: 'tester', NO_COLOR: '1' },
      onStart: (fn) => (interrupt = fn),
      onStdout: (soFar) => {
        if (soFar.includes('Waiting for')) setTimeout(() => interrupt?.(), 50);
      },
    });
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`Run: kmsflow approve ${handle.workflowId} change`);
    expect(run.stdout).not.toMatch(/\x1b\[\d+m/);
    expect(run.stderr).toBe(
      `Stopped watching. ${handle.workflowId} keeps running: \`kmsflow status ${handle.workflowId}\` shows it.\n`,
    );
    expect((await handle.describe()).status.name).toBe('RUNNING');
    await handle.cancel();
  });
});

describe('without a worker', () => {
  it('status says no worker answered (exit 0, steps unknown) and approve refuses with exit 1', async () => {
    await probe.stopWorker();
    try {
      const handle = await probe.startProbe({ batches: 1, cluster: 'aks-no-worker' });
      const status = await cli(['status', handle.workflowId, '--json']);
      expect(status.code).toBe(0);
      const snapshot = parseJson<ProcedureSnapshot>(status.stdout);
      expect(snapshot).toMatchObject({ status: 'running', source: 'search-attributes', steps: [] });
      expect(snapshot.note).toContain('No worker answered the progress query within 5 s');
      const approve = await cli(['approve', handle.workflowId, 'change']);
      expect(approve.code).toBe(1);
      expect(approve.stderr).toContain(
        `kmsflow: ${handle.workflowId} cannot approve now: No worker answered`,
      );
      await handle.terminate('test over');
    } finally {
      await probe.startWorker();
    }
  });
});
