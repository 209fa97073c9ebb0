// The workflow bundle's entry exports workflows and nothing else: the worker registers every exported function
// as a workflow type anyone can start, so an exported helper or definition would be one. Each export is also
// named as its function is, since clients start workflows by reference (the function's name is the type).
import { expect, it } from 'vitest';
import * as bundle from '../../workflows';
import { describeClusterKeys } from '../../workflows/cluster-keys';
import { campaign } from '../../workflows/campaign';
import { planCampaign } from '../../workflows/campaign-plan';
import { expiryGuard } from '../../workflows/expiry-guard';
import { keyLedger } from '../../workflows/ledger';
import { planProcedure } from '../../workflows/plan';
import { PROCEDURES } from '../../workflows/procedures';
import { reencryptSecrets } from '../../workflows/reencrypt';
import { retireVersion } from '../../workflows/retire-version';

/** Every workflow kmsflow runs: each procedure's, and the ones around them. */
const WORKFLOWS: ((...args: never[]) => Promise<unknown>)[] = [
  ...PROCEDURES.map((p) => p.workflow),
  planProcedure,
  reencryptSecrets,
  keyLedger,
  describeClusterKeys,
  campaign,
  planCampaign,
  expiryGuard,
  retireVersion,
];

it('exports every workflow and nothing else', () => {
  const exported = Object.entries(bundle);
  const notWorkflows = exported
    .filter(([, value]) => !WORKFLOWS.includes(value as (typeof WORKFLOWS)[number]))
    .map(([name]) => name);
  expect(notWorkflows).toEqual([]);
  const missing = WORKFLOWS.filter((w) => !exported.some(([, value]) => value === w)).map((w) => w.name);
  expect(missing).toEqual([]);
});

it('exports each workflow under its function name, the type a start by reference asks for', () => {
  for (const [name, value] of Object.entries(bundle))
    expect({ name, type: value.name }).toEqual({ name, type: name });
});
