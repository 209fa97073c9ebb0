import * as fs from 'node:fs';
import * as path from 'node:path';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { Worker } from '@temporalio/worker';
import { expect, it } from 'vitest';
import { buildWorkflowBundle } from '../../worker/bundle';
import { PROCEDURE_HISTORIES } from '../helpers/record-histories';
import { installQuietRuntime } from '../helpers/temporal-env';

// Histories of every procedure, recorded from the end-to-end tests on the sandbox
// (KMSFLOW_RECORD_HISTORIES=1 npx vitest run test/procedures), replayed against the current workflows.
it('replays every recorded procedure history with the current workflow code', async () => {
  installQuietRuntime();
  const files = fs.readdirSync(PROCEDURE_HISTORIES).filter((f) => f.endsWith('.json'));
  const procedures = ['enable-kms', 'rotate-key', 'retire-key', 'disable-kms', 'switch-vault-mode', 'migrate-to-kms-v2'];
  expect(procedures.filter((p) => !files.includes(`${p}.json`))).toEqual([]);
  const histories = files.map((file) => {
    const fixture = JSON.parse(fs.readFileSync(path.join(PROCEDURE_HISTORIES, file), 'utf8')) as { workflowId: string; history: unknown };
    return { workflowId: fixture.workflowId, history: historyFromJSON(fixture.history) };
  });
  const results = [];
  for await (const result of Worker.runReplayHistories({ workflowBundle: { code: await buildWorkflowBundle() } }, histories)) {
    results.push([result.workflowId, result.error?.message]);
  }
  expect(results).toEqual(histories.map((h) => [h.workflowId, undefined]));
}, 120_000);
