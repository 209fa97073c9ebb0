// A rotate campaign through the CLI, planned with each cluster's preflight, then run as several workflow
// runs: the Temporal server suggests continue-as-new after ten events (a fleet's campaign reaches
// Temporal's suggestion after some hundreds of clusters), so the campaign's three stages span runs. Its state
// carries over: every cluster is proven, each key gets one new version for the whole campaign (not one per
// run), a cluster retried while a stage soaks runs in the next run, and status, report and approvals read and
// reach the latest run.
import { Connection, WorkflowClient } from '@temporalio/client';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { ScenarioInput } from '../../sandbox/scenario';
import type { CampaignPlan } from '../../workflows/campaign-plan';
import type { CampaignProgress } from '../../workflows/campaign-messages';
import { waitUntil } from '../helpers/wait';
import { type CliWorld, startCliWorld, fastReencryptFlags } from '../lifecycle/cli-world';

const SUBSCRIPTION = '11111111-2222-4333-8444-666666666666';
const VAULT = 'kv-can';
const secrets = (seed: number) => ({ count: 20, namespaces: 2, seed, maxBytes: 2048 });
const kms = (key: string) => ({ vault: VAULT, key, version: 1, networkAccess: 'Public' as const });

const scenario: ScenarioInput = {
  seed: 184,
  tenantId: '72f988bf-0000-4000-a000-00000000c0de',
  subscriptions: [
    {
      id: SUBSCRIPTION,
      resourceGroups: [
        { name: 'rg-can', location: 'eastus' },
        { name: 'rg-other', location: 'eastus' },
      ],
    },
  ],
  principals: [{ name: 'operator', type: 'User' }],
  operator: 'operator',
  // id-norole was never granted the vault's Crypto User role: AKS could not use the new key.
  identities: [{ name: 'id-kms' }, { name: 'id-norole' }],
  vaults: [
    {
      name: VAULT,
      enablePurgeProtection: true,
      keys: [
        { name: 'alpha', versions: 1 },
        { name: 'beta', versions: 1 },
      ],
    },
  ],
  roleAssignments: [
    { role: 'Key Vault Crypto Officer', principal: 'operator', scope: `vault:${VAULT}` },
    { role: 'Key Vault Crypto User', principal: 'id-kms', scope: `vault:${VAULT}` },
  ],
  clusters: [
    { name: 'aks-1', identity: 'id-kms', kms: kms('alpha'), secrets: secrets(1) },
    { name: 'aks-2', identity: 'id-kms', kms: kms('alpha'), secrets: secrets(2) },
    { name: 'aks-3', identity: 'id-kms', kms: kms('beta'), secrets: secrets(3) },
    { name: 'aks-4', identity: 'id-kms', kms: kms('alpha'), secrets: secrets(4) },
    {
      name: 'aks-5',
      resourceGroup: 'rg-other',
      identity: 'id-norole',
      kms: kms('alpha'),
      secrets: secrets(5),
    },
  ],
};

const FAST = fastReencryptFlags();
const CAMPAIGN = 'rotate-in-runs';

let world: CliWorld;

beforeAll(async () => {
  world = await startCliWorld(
    { scenario },
    { dynamicConfig: { 'limit.historyCount.suggestContinueAsNew': 10 } },
  );
}, 120_000);

afterAll(async () => {
  await world?.teardown();
});

/** The campaign workflow's runs, oldest first, with how each ended. */
async function campaignRuns(): Promise<string[]> {
  const connection = await Connection.connect({ address: world.address });
  try {
    const client = new WorkflowClient({ connection });
    const runs: { start: number; status: string }[] = [];
    for await (const run of client.list({
      query: `KmsCampaign = '${CAMPAIGN}' AND WorkflowType = 'campaign'`,
    }))
      runs.push({ start: run.startTime.getTime(), status: run.status.name });
    return runs.sort((a, b) => a.start - b.start).map((r) => r.status);
  } finally {
    await connection.close();
  }
}

it("plans with each cluster's preflight: the cluster whose identity lacks the vault role is named with the fix", async () => {
  const args = ['campaign', 'plan', 'rotate', '--subscription', SUBSCRIPTION, '--preflight'];
  const plan = await world.kmsflowJson<CampaignPlan>(args, 2);
  expect(plan.members.map((m) => [m.name, m.preflight?.ok, m.preflight?.errors.map((e) => e.code)])).toEqual([
    ['aks-1', true, []],
    ['aks-2', true, []],
    ['aks-3', true, []],
    ['aks-4', true, []],
    ['aks-5', false, ['IdentityLacksCryptoPermission']],
  ]);
  expect(plan.members[4]!.preflight!.errors[0]!.fix).toMatch(/Key Vault Crypto User/);
  expect(plan.members[0]!.preflight!.note).toMatch(/checked against the key in use/);

  const shown = await world.kmsflow(args);
  expect(shown.code).toBe(2);
  expect(shown.stdout).toMatch(/aks-5 +rest +1 error\(s\): IdentityLacksCryptoPermission/);
  expect(shown.stdout).toContain('aks-5: its preflight would refuse rotate-key:');

  // rotate's other flags are checked too, with the key in use standing in for the new version: the vault's
  // mode cannot change while KMS is on.
  const vaultId = `/subscriptions/${SUBSCRIPTION}/resourceGroups/rg-can/providers/Microsoft.KeyVault/vaults/${VAULT}`;
  const toPrivate = await world.kmsflowJson<CampaignPlan>(
    [...args, '--resource-group', 'rg-can', '--mode', 'Private', '--vault-id', vaultId],
    2,
  );
  expect(toPrivate.members).toHaveLength(4);
  for (const m of toPrivate.members)
    expect(m.preflight?.errors.map((e) => e.code)).toEqual(
      expect.arrayContaining(['ModeChangeWhileEnabled']),
    );

  // campaign start --preflight starts nothing while one cluster would be refused.
  const refusedStart = await world.kmsflow([
    'campaign',
    'start',
    'rotate',
    '--subscription',
    SUBSCRIPTION,
    '--preflight',
    '--id',
    'never-started',
  ]);
  expect(refusedStart.code, refusedStart.stderr).toBe(2);
  expect(refusedStart.stdout).toContain('Nothing started: the preflight of aks-5 would refuse rotate-key.');
  expect((await world.kmsflow(['campaign', 'status', 'never-started'])).code).toBe(5);

  // Without --preflight the plan reads only the selection, and says nothing of preflights.
  const quick = await world.kmsflowJson<CampaignPlan>([
    'campaign',
    'plan',
    'rotate',
    '--subscription',
    SUBSCRIPTION,
  ]);
  expect(quick.members.every((m) => m.preflight === undefined)).toBe(true);
}, 120_000);

it('continues as new between stages and ends with every cluster proven under one new version per key', async () => {
  const started = await world.kmsflow([
    'campaign',
    'start',
    'rotate',
    '--subscription',
    SUBSCRIPTION,
    '--resource-group',
    'rg-can',
    '--preflight',
    '--stage',
    'canary size=1',
    '--stage',
    'second size=1 soak=15s approval',
    '--stage',
    'rest',
    '--id',
    CAMPAIGN,
    ...FAST,
  ]);
  expect(started.code, started.stderr).toBe(0);

  // The approval reaches the run that waits for it, whichever run that is.
  await waitUntil(
    () => world.kmsflowJson<CampaignProgress>(['campaign', 'status', CAMPAIGN]),
    (p) => p.phase === 'waiting-approval',
    { what: 'the second stage to wait for approval', timeoutMs: 120_000, intervalMs: 500 },
  );
  // aks-2 is skipped before its stage runs, and retried while the stage soaks: it then waits for the next
  // stage, which runs in the next workflow run.
  const skipped = await world.kmsflow(['campaign', 'skip', CAMPAIGN, 'aks-2']);
  expect(skipped.code, skipped.stderr).toBe(0);
  const approved = await world.kmsflow(['campaign', 'approve', CAMPAIGN, 'second']);
  expect(approved.code, approved.stderr).toBe(0);
  await waitUntil(
    () => world.kmsflowJson<CampaignProgress>(['campaign', 'status', CAMPAIGN]),
    (p) => p.stages[1]!.status === 'soaking',
    { what: 'the second stage to soak', timeoutMs: 60_000, intervalMs: 300 },
  );
  const retried = await world.kmsflow(['campaign', 'retry', CAMPAIGN, 'aks-2']);
  expect(retried.code, retried.stderr).toBe(0);

  const done = await waitUntil(
    () => world.kmsflowJson<CampaignProgress>(['campaign', 'status', CAMPAIGN]),
    (p) => p.phase === 'completed' || p.phase === 'halted',
    { what: 'the campaign to end', timeoutMs: 240_000, intervalMs: 500 },
  );
  expect(done.phase).toBe('completed');
  expect(done.clusters.map((c) => [c.name, c.stage, c.status])).toEqual([
    ['aks-1', 'canary', 'proven'],
    ['aks-2', 'second', 'proven'],
    ['aks-3', 'rest', 'proven'],
    ['aks-4', 'rest', 'proven'],
  ]);
  expect(done.stages.map((s) => [s.name, s.status])).toEqual([
    ['canary', 'done'],
    ['second', 'done'],
    ['rest', 'done'],
  ]);
  expect(done.stages[1]!.approvedBy).toBeTruthy();

  // Visibility trails the workflow by a moment.
  const runs = await waitUntil(campaignRuns, (r) => r.at(-1) === 'COMPLETED', {
    what: 'the last campaign run to show as completed',
    timeoutMs: 30_000,
    intervalMs: 500,
  });
  expect(runs.length).toBeGreaterThanOrEqual(2);
  expect(runs.slice(0, -1).every((status) => status === 'CONTINUED_AS_NEW')).toBe(true);

  // One new version per key for the whole campaign, whichever run rotated the cluster; every Secret under it.
  const keyOf = async (cluster: string) => (await world.inspect(cluster)).kms!.keyId!;
  const alpha = await keyOf('aks-1');
  expect(alpha).toMatch(/\/keys\/alpha\//);
  expect(await keyOf('aks-2')).toBe(alpha);
  expect(await keyOf('aks-4')).toBe(alpha);
  const beta = await keyOf('aks-3');
  expect(beta).toMatch(/\/keys\/beta\//);
  for (const [cluster, key] of [
    ['aks-1', alpha],
    ['aks-2', alpha],
    ['aks-3', beta],
    ['aks-4', alpha],
  ] as const) {
    const entries = (await world.inspect(cluster)).etcdEntries ?? [];
    expect(entries.length).toBeGreaterThan(0);
    expect(entries.filter((e) => e.provider.type !== 'kms-v2' || e.provider.keyId !== key)).toEqual([]);
  }
  const overview = await world.kmsflowJson<{
    vaults: { name: string; keys: { name: string; versions: unknown[] }[] }[];
  }>(['sandbox', 'inspect']);
  const versions = Object.fromEntries(
    overview.vaults.find((v) => v.name === VAULT)!.keys.map((k) => [k.name, k.versions.length]),
  );
  expect(versions).toEqual({ alpha: 2, beta: 2 });

  const report = await world.kmsflow(['campaign', 'report', CAMPAIGN]);
  expect(report.code, report.stdout + report.stderr).toBe(0);
  const watched = await world.kmsflow(['campaign', 'watch', CAMPAIGN, '--json']);
  expect(watched.code, watched.stderr).toBe(0);
  const objects = watched.stdout
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as CampaignProgress);
  expect(objects.map((p) => p.phase)).toEqual(['completed']);
}, 420_000);
