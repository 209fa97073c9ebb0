// The output layer and the visibility query, which are pure: colours, formats, the query's quoting.
import { describe, expect, it } from 'vitest';
import { createOutput } from '../../client/output/output';
import { fitToWidth, formatDuration, progressBar, table } from '../../client/output/format';
import { describeChanges, renderStatus } from '../../client/output/procedure-view';
import type { ProcedureSnapshot, StepView } from '../../client/output/shapes';
import { colorsWanted, createStyle, stripStyle } from '../../client/output/style';
import { visibilityQuery } from '../../client/commands/support/visibility';
import { quoteValue } from '../../workflows/messages';
import { shellWord, waitingFor } from '../../workflows/engine/details';
import { exitCodeFor, procedureStatusOf } from '../../client/commands/support/procedure-status';
import { workflowIdArgument } from '../../client/commands/support/options';

describe('colours', () => {
  it('are used only on a terminal and never with NO_COLOR', () => {
    expect(colorsWanted(true, {})).toBe(true);
    expect(colorsWanted(false, {})).toBe(false);
    expect(colorsWanted(true, { NO_COLOR: '1' })).toBe(false);
    expect(createStyle(true).green('ok')).toBe('\x1b[32mok\x1b[39m');
    expect(createStyle(false).green('ok')).toBe('ok');
    expect(stripStyle(createStyle(true).bold(createStyle(true).red('x')))).toBe('x');
  });

  it('never colour JSON, even on a terminal', () => {
    let written = '';
    const out = createOutput(
      {
        stdout: { write: (t: string) => (written += t) },
        stderr: { write: () => true },
        env: {},
        isTTY: true,
      },
      { json: true },
    );
    expect(out.style.enabled).toBe(false);
    expect(out.live).toBe(false);
    out.printJson({ a: 1 }, { stream: true });
    expect(written).toBe('{"a":1}\n');
  });
});

describe('formats', () => {
  it('formats durations, bars, tables and cut lines', () => {
    expect(formatDuration(4.4)).toBe('4s');
    expect(formatDuration(185)).toBe('3m 05s');
    expect(formatDuration(7800)).toBe('2h 10m');
    expect(progressBar(5, 10, 10)).toBe('[█████░░░░░]');
    expect(progressBar(5, null, 4)).toBe('[░░░░]');
    expect(progressBar(50, 10, 4)).toBe('[████]');
    const style = createStyle(true);
    expect(table(['A', 'BB'], [[style.red('xyz'), '1']]).map(stripStyle)).toEqual(['A    BB', 'xyz  1']);
    expect(fitToWidth('abcdefghij', 5)).toBe('abcd…');
    expect(fitToWidth('abc', 5)).toBe('abc');
  });
});

describe('visibility query', () => {
  it('quotes every value so that it stays one string literal', () => {
    expect(quoteValue("x' OR KmsCluster = 'y")).toBe("'x\\' OR KmsCluster = \\'y'");
    expect(quoteValue('a\\')).toBe("'a\\\\'");
    expect(visibilityQuery({})).toBe('KmsProcedure IS NOT NULL');
    expect(
      visibilityQuery({ cluster: 'aks-1', procedure: 'rotate', phase: 'blocked', status: 'running' }),
    ).toBe(
      "KmsProcedure IS NOT NULL AND KmsProcedure = 'rotate' AND KmsCluster = 'aks-1' AND KmsPhase = 'blocked' AND ExecutionStatus = 'Running'",
    );
    expect(visibilityQuery({ status: 'cancelled' })).toContain(
      "(ExecutionStatus = 'Canceled' OR (ExecutionStatus = 'Completed' AND KmsPhase = 'cancelled'))",
    );
  });
});

describe('naming a procedure', () => {
  it("takes a workflow id as typed, or a cluster's resource id as the id of the cluster's procedure", () => {
    expect(workflowIdArgument('  probe-1 ', 'status')).toBe('probe-1');
    const cluster =
      '/subscriptions/0000/resourceGroups/RG/providers/Microsoft.ContainerService/managedClusters/AKS-1/';
    expect(workflowIdArgument(cluster, 'status')).toBe(
      'kmsflow:/subscriptions/0000/resourcegroups/rg/providers/microsoft.containerservice/managedclusters/aks-1',
    );
    expect(workflowIdArgument('/subscriptions/x', 'status')).toBe('/subscriptions/x');
  });
});

describe('status and exit codes', () => {
  it('combine Temporal status and phase', () => {
    expect(procedureStatusOf('RUNNING', 'blocked')).toBe('running');
    expect(procedureStatusOf('COMPLETED', 'cancelled')).toBe('cancelled');
    expect(procedureStatusOf('COMPLETED', 'completed')).toBe('completed');
    expect(procedureStatusOf('CANCELLED', null)).toBe('cancelled');
    expect(procedureStatusOf('TIMED_OUT', 'running')).toBe('timed-out');
    expect(exitCodeFor('running', 'running')).toBe(0);
    expect(exitCodeFor('running', 'waiting-approval')).toBe(3);
    expect(exitCodeFor('running', 'paused')).toBe(3);
    expect(exitCodeFor('completed', 'completed')).toBe(0);
    expect(exitCodeFor('terminated', null)).toBe(4);
  });

  it('quotes workflow ids in the commands it prints only when a shell needs it', () => {
    expect(shellWord('kmsflow-rotate-aks-1')).toBe('kmsflow-rotate-aks-1');
    expect(shellWord("it's mine")).toBe("'it'\\''s mine'");
    const waiting = waitingFor(
      {
        procedure: 'p',
        cluster: 'c',
        phase: 'paused',
        paused: true,
        currentStep: 's',
        steps: [{ id: 's', title: 'S', status: 'running', attempts: 1 }],
        approvals: [],
        startedAt: '2025-01-01T00:00:00Z',
      },
      'a b',
    );
    expect(waiting).toMatchObject({ kind: 'paused', command: "kmsflow resume 'a b'" });
  });
});

function snapshot(steps: Partial<StepView>[], extra: Partial<ProcedureSnapshot> = {}): ProcedureSnapshot {
  return {
    workflowId: 'wf',
    runId: 'r',
    workflowType: 'probeProcedure',
    status: 'running',
    executionStatus: 'RUNNING',
    exitCode: 0,
    procedure: 'rotate',
    cluster: 'aks-1',
    phase: 'running',
    paused: false,
    currentStep: 'b',
    steps: steps.map((s, i) => ({
      number: i + 1,
      id: `s${i}`,
      title: `Step ${i}`,
      status: 'pending',
      attempts: 0,
      gate: null,
      command: null,
      detail: null,
      progress: null,
      blocked: null,
      startedAt: null,
      endedAt: null,
      ...s,
    })),
    approvals: [],
    waitingFor: null,
    activity: null,
    startedAt: '2025-01-01T00:00:00.000Z',
    endedAt: null,
    failure: null,
    source: 'query',
    note: null,
    workerVersion: null,
    ...extra,
  };
}

describe('procedure views', () => {
  it('describes only what changed between two polls', () => {
    const first = snapshot(
      [
        { id: 'a', status: 'done', attempts: 1 },
        { id: 'b', status: 'running', attempts: 1 },
      ],
      { currentStep: 'b' },
    );
    const progressed = snapshot(
      [
        { id: 'a', status: 'done', attempts: 1 },
        {
          id: 'b',
          status: 'running',
          attempts: 1,
          progress: { done: 5, total: 10, unit: 'Secrets', rate: 2.5, etaSeconds: 2 },
        },
      ],
      { currentStep: 'b' },
    );
    expect(describeChanges(first, first)).toEqual([]);
    expect(describeChanges(first, progressed)).toEqual([
      'step 2/2 b: 5 / 10 Secrets · 2.5 Secrets/s · ETA 2s',
    ]);
    const ended = snapshot(
      [
        { id: 'a', status: 'done', attempts: 1 },
        { id: 'b', status: 'cancelled', attempts: 1, detail: 'cancelled: stop' },
      ],
      {
        status: 'cancelled',
        phase: 'cancelled',
        exitCode: 4,
      },
    );
    expect(describeChanges(progressed, ended)).toEqual([
      'step 2/2 b: cancelled (cancelled: stop)',
      'wf cancelled',
    ]);
  });

  it('renders a failure and a missing step list with its note', () => {
    const lines = renderStatus(
      snapshot([], {
        status: 'failed',
        executionStatus: 'FAILED',
        exitCode: 4,
        failure: 'boom',
        source: 'search-attributes',
        note: 'No steps.',
      }),
      createStyle(false),
      new Date('2025-01-01T00:01:00Z'),
    );
    expect(lines[0]).toBe('rotate on aks-1: failed');
    expect(lines).toContain('  failure   boom');
    expect(lines).toContain('No steps.');
    expect(lines).toContain('  started   2025-01-01 00:00:00Z (1m 00s)');
  });
});
