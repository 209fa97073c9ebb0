// Per-cluster inputs through the CLI: an enable campaign whose keys come from a CSV mapping (one key per
// cluster), a cluster the mapping forgets skipped with the procedure's own reason, a cluster with KMS on skipped,
// and a malformed mapping refused before anything starts. Each enabled cluster's Secrets end under its own key.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { ScenarioInput } from '../../sandbox/scenario';
import type { CampaignPlan } from '../../workflows/campaign-plan';
import type { CampaignProgress } from '../../workflows/campaign-messages';
import { waitUntil } from '../helpers/wait';
import { type CliWorld, startCliWorld, fastReencryptFlags } from '../lifecycle/cli-world';

const SUBSCRIPTION = '11111111-2222-4333-8444-555555555555';
const VAULT = 'kv-inputs';
const secrets = (seed: number) => ({ count: 30, namespaces: 2, seed, maxBytes: 2048 });

const scenario: ScenarioInput = {
  seed: 183,
  tenantId: '72f988bf-0000-4000-a000-00000000c0de',
  subscriptions: [{ id: SUBSCRIPTION, resourceGroups: [{ name: 'rg-in', location: 'eastus' }] }],
  principals: [{ name: 'operator', type: 'User' }],
  operator: 'operator',
  identities: [{ name: 'id-kms' }],
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
    { name: 'aks-a', identity: 'id-kms', secrets: secrets(1) },
    { name: 'aks-b', identity: 'id-kms', secrets: secrets(2) },
    { name: 'aks-c', identity: 'id-kms', secrets: secrets(3) },
    {
      name: 'aks-d',
      identity: 'id-kms',
      kms: { vault: VAULT, key: 'alpha', version: 1, networkAccess: 'Public' },
      secrets: secrets(4),
    },
  ],
};

const FAST = fastReencryptFlags();

let world: CliWorld;
const keyIds: Record<string, string> = {};

beforeAll(async () => {
  world = await startCliWorld({ scenario });
  const port = fs.readFileSync(world.envFile, 'utf8').match(/KMSFLOW_SANDBOX_PORT=(\d+)/)![1];
  const overview = await world.kmsflowJson<{
    vaults: { name: string; keys: { name: string; versions: { version: string }[] }[] }[];
  }>(['sandbox', 'inspect']);
  for (const key of overview.vaults.find((v) => v.name === VAULT)!.keys)
    keyIds[key.name] =
      `https://${VAULT}.vault.azure.net:${port}/keys/${key.name}/${key.versions[0]!.version}`;
}, 120_000);

afterAll(async () => {
  await world?.teardown();
});

it('enables KMS across clusters with a key per cluster from a CSV mapping; what does not fit is skipped with its reason', async () => {
  const mapping = path.join(world.dir, 'keys.csv');
  fs.writeFileSync(mapping, ['cluster,key-id', `aks-a,${keyIds.alpha}`, `aks-b,${keyIds.beta}`].join('\n'));
  const select = ['--subscription', SUBSCRIPTION, '--inputs', mapping, '--stage', 'all concurrency=3'];

  const plan = await world.kmsflowJson<CampaignPlan>(['campaign', 'plan', 'enable', ...select]);
  expect(plan.members.map((m) => [m.name, m.stage, m.skipReason ?? null])).toEqual([
    ['aks-a', 'all', null],
    ['aks-b', 'all', null],
    [
      'aks-c',
      null,
      'its inputs do not fit: enable needs --key-id: the versioned key id, from az keyvault key show --vault-name VAULT --name KEY --query key.kid -o tsv.',
    ],
    ['aks-d', null, 'KMS is already on: rotate changes its key'],
  ]);

  // A mapping with a flag enable does not take is refused before anything starts.
  const wrong = path.join(world.dir, 'wrong.csv');
  fs.writeFileSync(wrong, ['cluster,target-version', 'aks-a,1.29'].join('\n'));
  const refused = await world.kmsflow([
    'campaign',
    'start',
    'enable',
    '--subscription',
    SUBSCRIPTION,
    '--inputs',
    wrong,
    '--id',
    'never',
  ]);
  expect(refused.code).toBe(2);
  expect(refused.stderr).toContain('cluster aks-a: --target-version does not apply to enable');

  const started = await world.kmsflow([
    'campaign',
    'start',
    'enable',
    ...select,
    '--id',
    'enable-fleet',
    ...FAST,
  ]);
  expect(started.code, started.stderr).toBe(0);
  const done = await waitUntil(
    () => world.kmsflowJson<CampaignProgress>(['campaign', 'status', 'enable-fleet']),
    (p) => p.phase === 'completed' || p.phase === 'halted',
    { what: 'the enable campaign to end', timeoutMs: 180_000, intervalMs: 500 },
  );
  expect(done.clusters.map((c) => [c.name, c.status])).toEqual([
    ['aks-a', 'proven'],
    ['aks-b', 'proven'],
    ['aks-c', 'skipped'],
    ['aks-d', 'skipped'],
  ]);
  for (const [cluster, key] of [
    ['aks-a', keyIds.alpha!],
    ['aks-b', keyIds.beta!],
  ] as const) {
    const view = await world.inspect(cluster);
    expect(view.kms?.keyId).toBe(key);
    const entries = view.etcdEntries ?? [];
    expect(entries.length).toBeGreaterThan(0);
    expect(entries.filter((e) => e.provider.type === 'identity' || e.provider.keyId !== key)).toEqual([]);
  }
  expect((await world.inspect('aks-c')).kms?.enabled ?? false).toBe(false);
}, 300_000);
