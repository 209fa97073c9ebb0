import * as fs from 'node:fs';
import * as path from 'node:path';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { DeterminismViolationError } from '@temporalio/workflow';
import { beforeAll, describe, expect, it } from 'vitest';
import type { LogEntry } from '@temporalio/worker';
import { bundleTestWorkflows, installCollectingRuntime } from '../helpers/temporal-env';
import { waitUntil } from '../helpers/wait';

// Histories recorded from real runs (KMSFLOW_RECORD_HISTORIES=1 npx vitest run test/workflows/engine.test.ts).
const FIXTURES = path.resolve('test/fixtures/histories');

function loadHistories() {
  return fs
    .readdirSync(FIXTURES)
    .filter((f) => f.startsWith('probe-') && f.endsWith('.json'))
    .map((file) => ({
      workflowId: file.replace(/\.json$/, ''),
      history: historyFromJSON(JSON.parse(fs.readFileSync(path.join(FIXTURES, file), 'utf8'))),
    }));
}

async function replayAll(bundle: WorkflowBundleWithSourceMap) {
  const results = [];
  for await (const result of Worker.runReplayHistories({ workflowBundle: bundle }, loadHistories()))
    results.push(result);
  return results;
}

describe('replay of recorded procedure histories', () => {
  let current: WorkflowBundleWithSourceMap;
  let altered: WorkflowBundleWithSourceMap;
  let logged: LogEntry[];

  beforeAll(async () => {
    // The altered bundle fails workflow tasks on purpose: its warnings go to `logged`, not the test output.
    logged = installCollectingRuntime();
    current = await bundleTestWorkflows('test/workflows/probe.ts');
    altered = await bundleTestWorkflows('test/workflows/probe-with-inserted-step.ts');
  });

  it('replays every recorded history with the current engine', async () => {
    const results = await replayAll(current);
    expect(results.length).toBeGreaterThanOrEqual(5);
    expect(results.map((r) => [r.workflowId, r.error?.message])).toEqual(
      results.map((r) => [r.workflowId, undefined]),
    );
  });

  it('fails when a step is inserted in the middle of a recorded procedure', async () => {
    const results = await replayAll(altered);
    const approved = results.find((r) => r.workflowId === 'probe-approved');
    expect(approved?.error).toBeInstanceOf(DeterminismViolationError);
    const violations = results.filter((r) => r.error instanceof DeterminismViolationError).length;
    expect(violations).toBeGreaterThanOrEqual(4);
    // The native core logs the failed workflow tasks (forwarded in batches); they are these and nothing else.
    const nondeterminism = (e: LogEntry) =>
      e.level === 'WARN' && /Nondeterminism error/.test(JSON.stringify(e.meta ?? {}));
    await waitUntil(
      async () => logged.filter(nondeterminism).length,
      (n) => n >= 3,
      { what: 'the nondeterminism warnings', timeoutMs: 10_000 },
    );
    expect(logged.filter((e) => !nondeterminism(e)).map((e) => e.message)).toEqual([]);
  });
});
