// A campaign on three worker processes sharing the task queue: the clusters' procedures run on more than one
// of them, one is SIGKILLed while clusters are mid-procedure, and the campaign still proves every cluster.
import type { ChildProcess } from 'node:child_process';
import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { ScenarioInput } from '../../sandbox/scenario';
import type { CampaignProgress } from '../../workflows/campaign-messages';
import { waitUntil } from '../helpers/wait';
import { type CliWorld, startCliWorld, fastReencryptFlags } from '../lifecycle/cli-world';

const SUBSCRIPTION = '11111111-2222-4333-8444-555555555555';
const CLUSTERS = ['aks-a', 'aks-b', 'aks-c', 'aks-d', 'aks-e', 'aks-f'];

const scenario: ScenarioInput = {
  seed: 181,
  tenantId: '72f988bf-0000-4000-a000-00000000c0de',
  subscriptions: [{ id: SUBSCRIPTION, resourceGroups: [{ name: 'rg-w', location: 'eastus' }] }],
  principals: [{ name: 'operator', type: 'User' }],
  operator: 'operator',
  identities: [{ name: 'id-kms' }],
  vaults: [{ name: 'kv-workers', enablePurgeProtection: true, keys: [{ name: 'k', versions: 1 }] }],
  roleAssignments: [
    { role: 'Key Vault Crypto Officer', principal: 'operator', scope: 'vault:kv-workers' },
    { role: 'Key Vault Crypto User', principal: 'id-kms', scope: 'vault:kv-workers' },
  ],
  clusters: CLUSTERS.map((name, i) => ({
    name,
    identity: 'id-kms',
    kms: { vault: 'kv-workers', key: 'k', version: 1, networkAccess: 'Public' as const },
    secrets: { count: 120, namespaces: 3, seed: i + 1, maxBytes: 2048 },
  })),
};

const FAST = fastReencryptFlags();

let world: CliWorld;
let extra: ChildProcess[] = [];

beforeAll(async () => {
  world = await startCliWorld({ scenario });
  extra = [await world.startExtraWorker(), await world.startExtraWorker()];
}, 180_000);

afterAll(async () => {
  await world?.teardown();
});

it('spreads the clusters over three workers, loses one to SIGKILL mid-campaign, and still proves every cluster', async () => {
  const started = await world.kmsflow([
    'campaign',
    'start',
    'rotate',
    '--subscription',
    SUBSCRIPTION,
    '--stage',
    'all concurrency=3',
    '--id',
    'spread',
    ...FAST,
  ]);
  expect(started.code, started.stderr).toBe(0);
  const status = () => world.kmsflowJson<CampaignProgress>(['campaign', 'status', 'spread']);
  await waitUntil(status, (p) => p.clusters.filter((c) => c.status === 'running').length >= 2, {
    what: 'clusters mid-procedure',
    timeoutMs: 120_000,
    intervalMs: 200,
  });
  const killed = extra[0]!;
  killed.kill('SIGKILL');
  await new Promise((resolve) => killed.once('exit', resolve));

  const done = await waitUntil(status, (p) => p.phase !== 'running', {
    what: 'the campaign to end',
    timeoutMs: 270_000,
    intervalMs: 1_000,
  });
  expect(done.phase).toBe('completed');
  expect(done.clusters.map((c) => [c.name, c.status])).toEqual(CLUSTERS.map((name) => [name, 'proven']));
  for (const name of CLUSTERS) {
    const view = await world.inspect(name);
    const keyId = done.clusters.find((c) => c.name === name)!.keyId!;
    expect(view.kms?.keyId).toBe(keyId);
    expect(
      (view.etcdEntries ?? []).filter((e) => e.provider.type === 'identity' || e.provider.keyId !== keyId),
    ).toEqual([]);
  }

  // More than one worker ran the clusters' activities (each worker has its own identity, pid@host).
  const connection = await Connection.connect({ address: world.address });
  try {
    const client = new Client({ connection, namespace: 'default' });
    const identities = new Set<string>();
    for (const c of done.clusters) {
      const history = await client.workflow
        .getHandle(`kmsflow:${c.clusterId.toLowerCase()}`, c.runId)
        .fetchHistory();
      for (const e of history.events ?? [])
        if (e.activityTaskStartedEventAttributes?.identity)
          identities.add(e.activityTaskStartedEventAttributes.identity);
    }
    expect(identities.size).toBeGreaterThanOrEqual(2);
  } finally {
    await connection.close();
  }
}, 360_000);
