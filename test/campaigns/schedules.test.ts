// Schedules through the CLI: a quarterly rotate schedule whose every run is its own campaign (a second run
// rotates again, to another new version), pause and unpause, and the expiry guard, which finds the clusters
// whose key in AKS's current or previous slot expires within 30 days and starts a rotate campaign over
// exactly those, waiting for approval: first a key in the current slot, then the same key once a rotation
// has moved it to the previous slot (which only kmsflow's key ledger knows).
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { ScenarioInput } from '../../sandbox/scenario';
import { Client, Connection } from '@temporalio/client';
import type { CampaignProgress, ExpiryGuardResult } from '../../workflows/campaign-messages';
import { waitUntil } from '../helpers/wait';
import { type CliWorld, startCliWorld, fastReencryptFlags } from '../lifecycle/cli-world';

const SUBSCRIPTION = '11111111-2222-4333-8444-555555555555';
const inDays = (days: number) => new Date(Date.now() + days * 86_400_000).toISOString();
const secrets = (seed: number) => ({ count: 30, namespaces: 2, seed, maxBytes: 2048 });

const scenario: ScenarioInput = {
  seed: 182,
  tenantId: '72f988bf-0000-4000-a000-00000000c0de',
  subscriptions: [{ id: SUBSCRIPTION, resourceGroups: [{ name: 'rg-s', location: 'eastus' }] }],
  principals: [{ name: 'operator', type: 'User' }],
  operator: 'operator',
  identities: [{ name: 'id-kms' }],
  vaults: [
    {
      name: 'kv-sched',
      enablePurgeProtection: true,
      keys: [
        // The team key's first version expires in 20 days; two rotations move it out of both slots.
        { name: 'team', versions: [{ expiresOn: inDays(20) }] },
        { name: 'soon', versions: [{ expiresOn: inDays(10) }] },
        { name: 'later', versions: [{ expiresOn: inDays(200) }] },
      ],
    },
  ],
  roleAssignments: [
    { role: 'Key Vault Crypto Officer', principal: 'operator', scope: 'vault:kv-sched' },
    { role: 'Key Vault Crypto User', principal: 'id-kms', scope: 'vault:kv-sched' },
  ],
  clusters: [
    {
      name: 'aks-s1',
      tags: { team: 'a' },
      identity: 'id-kms',
      kms: { vault: 'kv-sched', key: 'team', version: 1 },
      secrets: secrets(1),
    },
    {
      name: 'aks-s2',
      tags: { team: 'a' },
      identity: 'id-kms',
      kms: { vault: 'kv-sched', key: 'team', version: 1 },
      secrets: secrets(2),
    },
    {
      name: 'aks-x',
      identity: 'id-kms',
      kms: { vault: 'kv-sched', key: 'soon', version: 1 },
      secrets: secrets(3),
    },
    {
      name: 'aks-y',
      identity: 'id-kms',
      kms: { vault: 'kv-sched', key: 'later', version: 1 },
      secrets: secrets(4),
    },
  ],
};

const FAST = fastReencryptFlags();

interface ScheduleRow {
  name: string;
  workflowType: string;
  everySeconds: number | null;
  paused: boolean;
  nextRun: string | null;
  lastRun: string | null;
  lastWorkflowId: string | null;
}

let world: CliWorld;

beforeAll(async () => {
  world = await startCliWorld({ scenario });
}, 120_000);

afterAll(async () => {
  await world?.teardown();
});

const schedules = async () =>
  (await world.kmsflowJson<{ schedules: ScheduleRow[] }>(['schedule', 'list'])).schedules;
const ok = async (args: string[]) => {
  const r = await world.kmsflow(args);
  expect(r.code, `kmsflow ${args.join(' ')}\n${r.stdout}\n${r.stderr}`).toBe(0);
  return r;
};
const campaignStatus = (id: string) => world.kmsflowJson<CampaignProgress>(['campaign', 'status', id]);
const untilEnded = (id: string) =>
  waitUntil(
    () => campaignStatus(id),
    (p) => p.phase === 'completed' || p.phase === 'halted',
    { what: `campaign ${id} to end`, timeoutMs: 180_000, intervalMs: 500 },
  );

/** Triggers the schedule and waits for the run it started (a new last workflow id); the campaign id it names. */
async function triggerAndWait(name: string, before: string | null): Promise<string> {
  await ok(['schedule', 'trigger', name]);
  const row = await waitUntil(
    async () => (await schedules()).find((s) => s.name === name),
    (s) => !!s?.lastWorkflowId && s.lastWorkflowId !== before,
    { what: `schedule ${name} to start a run`, timeoutMs: 60_000, intervalMs: 500 },
  );
  return row!.lastWorkflowId!;
}

it('runs a rotate schedule as one campaign per run, pauses it, and guards expiring keys in both slots with an approval', async () => {
  await ok([
    'schedule',
    'create',
    'rotate',
    '--name',
    'quarterly',
    '--every',
    '90d',
    '--subscription',
    SUBSCRIPTION,
    '--tag',
    'team=a',
    '--stage',
    'all concurrency=2',
    ...FAST,
  ]);
  const [row] = await schedules();
  expect(row).toMatchObject({
    name: 'quarterly',
    workflowType: 'campaign',
    everySeconds: 90 * 86_400,
    paused: false,
    lastRun: null,
  });
  // Temporal counts intervals from the Unix epoch: the next run is within 90 days, not 90 days from now.
  const untilNext = Date.parse(row!.nextRun!) - Date.now();
  expect(untilNext).toBeGreaterThan(0);
  expect(untilNext).toBeLessThanOrEqual(90 * 86_400_000);

  // Two runs, two campaigns with their own ids, each rotating to its own new version.
  const first = (await triggerAndWait('quarterly', null)).replace('kmsflow-campaign:', '');
  expect(first).toMatch(/^quarterly-/);
  const one = await untilEnded(first);
  expect(one.clusters.map((c) => [c.name, c.status])).toEqual([
    ['aks-s1', 'proven'],
    ['aks-s2', 'proven'],
  ]);
  const second = (await triggerAndWait('quarterly', `kmsflow-campaign:${first}`)).replace(
    'kmsflow-campaign:',
    '',
  );
  expect(second).not.toBe(first);
  const two = await untilEnded(second);
  expect(two.clusters.map((c) => c.status)).toEqual(['proven', 'proven']);
  expect(two.clusters[0]!.keyId).not.toBe(one.clusters[0]!.keyId);
  expect((await world.inspect('aks-s1')).kms?.keyId).toBe(two.clusters[0]!.keyId);

  await ok(['schedule', 'pause', 'quarterly', '--note', 'change freeze']);
  expect((await schedules())[0]!.paused).toBe(true);
  await ok(['schedule', 'unpause', 'quarterly']);
  expect((await schedules())[0]!.paused).toBe(false);

  // Rotated twice, the team key's first version has left both slots: nothing of team a is expiring now.
  // The guard finds aks-x (current slot, 10 days) and not aks-y (200 days); it waits for approval.
  await ok([
    'schedule',
    'create',
    'expiry-guard',
    '--name',
    'guard',
    '--every',
    '1d',
    '--within-days',
    '30',
    '--catchup',
    '2h',
    '--subscription',
    SUBSCRIPTION,
    '--stage',
    'all concurrency=3 approval',
    ...FAST,
  ]);
  const guardRun = await triggerAndWait('guard', null);
  expect(guardRun).toMatch(/^kmsflow-expiry-guard:guard-/);
  const guarded = `expiry-${guardRun.replace('kmsflow-expiry-guard:', '')}`;
  const waiting = await waitUntil(
    () => campaignStatus(guarded),
    (p) => p.phase === 'waiting-approval',
    { what: 'the guard campaign at its approval', timeoutMs: 60_000, intervalMs: 500 },
  );
  expect(waiting.clusters.map((c) => c.name)).toEqual(['aks-x']);
  // The guard waits for its campaign: a run triggered meanwhile is dropped by the overlap policy, and said so,
  // instead of a second campaign over the same cluster.
  const dropped = await world.kmsflow(['schedule', 'trigger', 'guard']);
  expect(dropped.code, dropped.stdout + dropped.stderr).toBe(3);
  expect(dropped.stdout).toContain(`its run ${guardRun} still runs`);
  expect((await schedules()).find((s) => s.name === 'guard')!.lastWorkflowId).toBe(guardRun);
  const described = await world.kmsflowJson<{
    running: string[];
    recentRuns: { workflowId: string }[];
    catchupWindowSeconds: number;
  }>(['schedule', 'describe', 'guard']);
  expect(described).toMatchObject({ running: [guardRun], catchupWindowSeconds: 7200 });
  expect(described.recentRuns.map((r) => r.workflowId)).toEqual([guardRun]);
  await ok(['campaign', 'approve', guarded, 'all', '--as', 'alice']);
  const guardedDone = await untilEnded(guarded);
  expect(guardedDone.clusters.map((c) => [c.name, c.status])).toEqual([['aks-x', 'proven']]);
  // What the guard cannot see is reported, never taken as healthy: kmsflow never saw aks-y's key change.
  const connection = await Connection.connect({ address: world.address });
  try {
    const guardResult = (await new Client({ connection }).workflow
      .getHandle(guardRun)
      .result()) as ExpiryGuardResult;
    expect(guardResult.campaignPhase).toBe('completed');
    expect(guardResult.unchecked?.find((u) => u.clusterId.endsWith('/aks-y'))).toMatchObject({
      slot: 'previous',
      reason: expect.stringContaining('previous key slot is unknown'),
    });
  } finally {
    await connection.close();
  }

  // After one rotation of aks-x, its expiring key sits in the previous slot: the guard still finds it there.
  const again = await triggerAndWait('guard', guardRun);
  const secondGuard = `expiry-${again.replace('kmsflow-expiry-guard:', '')}`;
  const waitingAgain = await waitUntil(
    () => campaignStatus(secondGuard),
    (p) => p.phase === 'waiting-approval',
    { what: 'the second guard campaign', timeoutMs: 60_000, intervalMs: 500 },
  );
  expect(waitingAgain.clusters.map((c) => c.name)).toEqual(['aks-x']);
  await ok(['campaign', 'cancel', secondGuard, '--reason', 'seen enough']);

  await ok(['schedule', 'delete', 'quarterly']);
  await ok(['schedule', 'delete', 'guard']);
  expect(await schedules()).toEqual([]);
}, 420_000);
