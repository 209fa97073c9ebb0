import * as fs from 'node:fs';
import * as path from 'node:path';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { Worker } from '@temporalio/worker';
import { expect, it } from 'vitest';
import { buildWorkflowBundle } from '../../worker/bundle';
import { PROCEDURE_HISTORIES } from '../helpers/record-histories';
import { installQuietRuntime } from '../helpers/temporal-env';

// Histories of every procedure, one folder per kmsflow version that recorded them (KMSFLOW_RECORD_HISTORIES=1
// npx vitest run test/procedures), all replayed against the current workflows: a procedure started by any
// recorded version must be able to finish on this code.
it('replays every recorded procedure history of every version with the current workflow code', async () => {
  installQuietRuntime();
  const versions = fs.readdirSync(PROCEDURE_HISTORIES).filter((d) => /^v\d/.test(d));
  expect(versions.length).toBeGreaterThanOrEqual(3);
  const procedures = [
    'enable-kms',
    'rotate-key',
    'retire-key',
    'disable-kms',
    'switch-vault-mode',
    'migrate-to-kms-v2',
  ];
  const histories = versions.flatMap((version) => {
    const dir = path.join(PROCEDURE_HISTORIES, version);
    const files = fs.readdirSync(dir).filter((f) => f.endsWith('.json'));
    expect({ version, missing: procedures.filter((p) => !files.includes(`${p}.json`)) }).toEqual({
      version,
      missing: [],
    });
    return files.map((file) => {
      const fixture = JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8')) as {
        workflowId: string;
        history: unknown;
      };
      return { workflowId: fixture.workflowId, history: historyFromJSON(fixture.history) };
    });
  });
  const results = [];
  for await (const result of Worker.runReplayHistories(
    { workflowBundle: { code: await buildWorkflowBundle() } },
    histories,
  )) {
    results.push([result.workflowId, result.error?.message]);
  }
  expect(results).toEqual(histories.map((h) => [h.workflowId, undefined]));
}, 120_000);
