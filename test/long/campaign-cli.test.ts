// A rotate campaign as an operator runs it, through real kmsflow processes (sandbox, worker, CLI) on a fleet
// of 30 clusters in three resource groups (a Fleet Manager fleet of 10 of them, maintenance windows on some):
// selection by subscription and tag, a canary stage with a soak, an approval before the rest,
// one cluster whose ARM operation fails and one whose preflight blocks (the error budget absorbs both), one
// cluster skipped by the operator, one skipped because KMS is off, one that waits for its AKS maintenance window
// until a window covers now; every other cluster proven in the etcd
// view under the one new key version the campaign created. Then a campaign with no budget halts at its first
// failure and starts nothing after it.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { CampaignReport } from '../../client/commands/support/campaign-report';
import type { ProcedureSnapshot } from '../../client/output/shapes';
import type { ScenarioInput } from '../../sandbox/scenario';
import type { CampaignPlan } from '../../workflows/campaign-plan';
import type { CampaignProgress } from '../../workflows/campaign-messages';
import { readSandboxEnv } from '../../sandbox/env-file';
import { createSandboxClients } from '../../worker/sandbox-clients';
import { type CliWorld, startCliWorld, fastReencryptFlags } from '../lifecycle/cli-world';
import { waitUntil } from '../helpers/wait';

const SUBSCRIPTION = '11111111-2222-4333-8444-555555555555';
const VAULT = 'kv-fleet';
const prod = { env: 'prod' };
const secrets = (seed: number) => ({ count: 30, namespaces: 2, seed, maxBytes: 2048 });
const kms = { vault: VAULT, key: 'fleet', version: 1, networkAccess: 'Public' as const };

const WEEKDAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
const daysFromNow = (days: number) => new Date(Date.now() + days * 86_400_000);
/** A weekly four-hour window at 00:00 UTC, `days` from today. */
function windowOn(days: number) {
  return {
    maintenanceWindow: {
      schedule: { weekly: { intervalWeeks: 1, dayOfWeek: WEEKDAYS[daysFromNow(days).getUTCDay()]! } },
      durationHours: 4,
      startTime: '00:00',
      utcOffset: '+00:00',
    },
  };
}

const FILLERS = Array.from({ length: 21 }, (_, i) => `aks-n${String(i + 1).padStart(2, '0')}`);

const scenario: ScenarioInput = {
  seed: 18,
  tenantId: '72f988bf-0000-4000-a000-00000000c0de',
  subscriptions: [
    {
      id: SUBSCRIPTION,
      resourceGroups: [
        { name: 'rg-east', location: 'eastus' },
        { name: 'rg-north', location: 'northeurope' },
        { name: 'rg-west', location: 'westus' },
      ],
    },
  ],
  principals: [{ name: 'operator', type: 'User' }],
  operator: 'operator',
  identities: [
    { name: 'id-kms', resourceGroup: 'rg-east' },
    { name: 'id-revoked', resourceGroup: 'rg-east' },
  ],
  vaults: [
    {
      name: VAULT,
      resourceGroup: 'rg-east',
      enablePurgeProtection: true,
      keys: [{ name: 'fleet', versions: 1 }],
    },
  ],
  roleAssignments: [
    { role: 'Key Vault Crypto Officer', principal: 'operator', scope: `vault:${VAULT}` },
    { role: 'Key Vault Crypto User', principal: 'id-kms', scope: `vault:${VAULT}` },
  ],
  clusters: [
    { name: 'aks-e1', resourceGroup: 'rg-east', tags: prod, identity: 'id-kms', kms, secrets: secrets(1) },
    { name: 'aks-e2', resourceGroup: 'rg-east', tags: prod, identity: 'id-kms', kms, secrets: secrets(2) },
    { name: 'aks-e3', resourceGroup: 'rg-east', tags: prod, identity: 'id-kms', kms, secrets: secrets(3) },
    {
      name: 'aks-e4',
      resourceGroup: 'rg-east',
      tags: { env: 'dev' },
      identity: 'id-kms',
      kms,
      secrets: secrets(4),
    },
    { name: 'aks-w1', resourceGroup: 'rg-west', tags: prod, identity: 'id-kms', secrets: secrets(5) },
    {
      name: 'aks-w2',
      resourceGroup: 'rg-west',
      tags: prod,
      identity: 'id-revoked',
      kms,
      secrets: secrets(6),
    },
    { name: 'aks-w3', resourceGroup: 'rg-west', tags: prod, identity: 'id-kms', kms, secrets: secrets(7) },
    { name: 'aks-w4', resourceGroup: 'rg-west', tags: prod, identity: 'id-kms', kms, secrets: secrets(8) },
    // Its only maintenance window is the day after tomorrow: it waits, until the operator opens one now.
    {
      name: 'aks-w5',
      resourceGroup: 'rg-west',
      tags: prod,
      identity: 'id-kms',
      kms,
      secrets: secrets(9),
      maintenanceConfigurations: { aksManagedAutoUpgradeSchedule: windowOn(2) },
    },
    // The rest of the fleet: ordinary prod clusters; every fifth has a maintenance window open now.
    ...FILLERS.map((name, i) => ({
      name,
      resourceGroup: 'rg-north',
      tags: prod,
      identity: 'id-kms',
      kms,
      secrets: secrets(10 + i),
      ...(i % 5 === 0
        ? {
            maintenanceConfigurations: {
              default: {
                maintenanceWindow: {
                  schedule: { daily: { intervalDays: 1 } },
                  durationHours: 8,
                  startTime: `${String(new Date().getUTCHours()).padStart(2, '0')}:00`,
                  utcOffset: '+00:00',
                },
              },
            },
          }
        : {}),
    })),
  ],
  fleets: [
    {
      name: 'fleet-prod',
      resourceGroup: 'rg-east',
      members: [
        { cluster: 'aks-e1' },
        { cluster: 'aks-e4', group: 'dev' },
        { cluster: 'aks-w3' },
        ...FILLERS.slice(0, 7).map((cluster) => ({ cluster })),
      ],
    },
  ],
  // aks-e3's every cluster update is accepted by ARM, then fails.
  faults: {
    seed: 1,
    rules: [
      {
        service: 'arm',
        method: 'PUT',
        path: '/managedClusters/aks-e3$',
        action: { kind: 'lroFailure', code: 'InternalOperationError', message: 'Internal server error' },
      },
    ],
  },
};

const FAST = fastReencryptFlags();
const STAGES = ['--stage', 'canary size=1 soak=2s', '--stage', 'rest concurrency=6 approval'];
const LONG = 300_000;

let world: CliWorld;
const clusterId = (group: string, name: string) =>
  `/subscriptions/${SUBSCRIPTION}/resourceGroups/${group}/providers/Microsoft.ContainerService/managedClusters/${name}`;

beforeAll(async () => {
  world = await startCliWorld({ scenario });
}, 120_000);

afterAll(async () => {
  await world?.teardown();
});

const campaignStatus = (id: string) => world.kmsflowJson<CampaignProgress>(['campaign', 'status', id]);
const untilPhase = (id: string, phases: CampaignProgress['phase'][]) =>
  waitUntil(
    () => campaignStatus(id),
    (p) => phases.includes(p.phase),
    { what: `campaign ${id} ${phases.join(' or ')}`, timeoutMs: 180_000, intervalMs: 500 },
  );
const byName = (p: CampaignProgress) => Object.fromEntries(p.clusters.map((c) => [c.name, c]));

/** Every Secret of the cluster stored under `keyId`, as etcd holds it. */
async function expectEverySecretUnder(cluster: string, keyId: string): Promise<void> {
  const view = await world.inspect(cluster);
  expect(view.kms?.keyId?.toLowerCase()).toBe(keyId.toLowerCase());
  const entries = view.etcdEntries ?? [];
  expect(entries.length).toBeGreaterThan(0);
  const wrong = entries.filter(
    (e) => e.provider.type === 'identity' || e.provider.keyId.toLowerCase() !== keyId.toLowerCase(),
  );
  expect(wrong.map((e) => `${e.namespace}/${e.name}`)).toEqual([]);
}

it(
  'rotates a fleet in stages: canary, soak, approval, two failures within the budget, one skip; every other cluster proven under the new key',
  async () => {
    const select = ['--subscription', SUBSCRIPTION, '--tag', 'env=prod'];
    const plan = await world.kmsflowJson<CampaignPlan>(['campaign', 'plan', 'rotate', ...select, ...STAGES]);
    expect(plan.members.map((m) => m.name)).toEqual([
      'aks-e1',
      'aks-e2',
      'aks-e3',
      ...FILLERS,
      'aks-w1',
      'aks-w2',
      'aks-w3',
      'aks-w4',
      'aks-w5',
    ]);
    expect(plan.members.find((m) => m.name === 'aks-w1')?.skipReason).toMatch(/KMS is off/);
    expect(plan.stages.map((s) => [s.name, s.clusters, s.concurrency])).toEqual([
      ['canary', 1, 1],
      ['rest', 27, 6],
    ]);
    const before = await world.inspect('aks-e1');

    const started = await world.kmsflow([
      'campaign',
      'start',
      'rotate',
      ...select,
      ...STAGES,
      '--id',
      'fleet-1',
      '--max-failures',
      '2',
      '--recheck',
      '1',
      ...FAST,
    ]);
    expect(started.code, started.stderr).toBe(0);
    expect(started.stdout).toContain('Started campaign fleet-1');

    // The canary is proven and soaked; the rest waits for approval. The operator skips aks-w4, then approves.
    let progress = await untilPhase('fleet-1', ['waiting-approval']);
    expect(byName(progress)['aks-e1']?.status).toBe('proven');
    expect(progress.stages.map((s) => s.status)).toEqual(['done', 'waiting-approval']);
    expect((await world.kmsflow(['campaign', 'skip', 'fleet-1', 'aks-w4'])).code).toBe(0);
    const skipAgain = await world.kmsflow(['campaign', 'skip', 'fleet-1', 'aks-w4']);
    expect(skipAgain.code).toBe(2);
    expect(skipAgain.stderr).toContain('only a cluster not started yet can be skipped');
    // The gate is approved by naming it: an approve without the stage is refused, and names the stage that waits.
    const unnamed = await world.kmsflow(['campaign', 'approve', 'fleet-1', '--as', 'alice']);
    expect(unnamed.code).toBe(2);
    expect(unnamed.stderr).toContain('stage "rest" waits for approval before it starts');
    expect((await world.kmsflow(['campaign', 'approve', 'fleet-1', 'rest', '--as', 'alice'])).code).toBe(0);

    // aks-w5 waits for its window and says until when; once a window covers now (an ARM change through the SDK), it runs.
    const waiting = await waitUntil(
      () => campaignStatus('fleet-1'),
      (p) => byName(p)['aks-w5']?.status === 'waiting-window',
      { what: 'aks-w5 waiting for its maintenance window', timeoutMs: 120_000, intervalMs: 500 },
    );
    const opensAt = `${daysFromNow(2).toISOString().slice(0, 10)}T00:00:00.000Z`;
    expect(byName(waiting)['aks-w5']?.reason).toBe(
      `outside its maintenance window (aksManagedAutoUpgradeSchedule): waits until ${opensAt}`,
    );
    expect(waiting.phase).toBe('running');
    const sandbox = readSandboxEnv({ file: world.envFile })!;
    const arm = createSandboxClients(sandbox.endpoints, sandbox.principal).containerService(SUBSCRIPTION);
    const hour = `${String(new Date().getUTCHours()).padStart(2, '0')}:00`;
    await arm.maintenanceConfigurations.createOrUpdate('rg-west', 'aks-w5', 'aksManagedAutoUpgradeSchedule', {
      maintenanceWindow: {
        schedule: { daily: { intervalDays: 1 } },
        durationHours: 4,
        startTime: hour,
        utcOffset: '+00:00',
      },
    });
    // The campaign sleeps until the window it read opens: told that the configuration changed, it reads it again now.
    expect((await world.kmsflow(['campaign', 'recheck', 'fleet-1', 'aks-w5', '--as', 'alice'])).code).toBe(0);

    // Every cluster settles but aks-e3 and aks-w2, blocked: the campaign ends only once their procedures have.
    const settled = await waitUntil(
      () => campaignStatus('fleet-1'),
      (p) =>
        p.clusters.every((c) => !['pending', 'running', 'waiting-window', 'waiting-busy'].includes(c.status)),
      { what: 'every cluster of fleet-1 settled', timeoutMs: 180_000, intervalMs: 500 },
    );
    expect(settled.endedAt).toBeUndefined();
    const statusOf = (p: CampaignProgress) => Object.fromEntries(p.clusters.map((c) => [c.name, c.status]));
    const expected = {
      'aks-e1': 'proven',
      'aks-e2': 'proven',
      'aks-e3': 'blocked',
      'aks-w1': 'skipped',
      'aks-w2': 'blocked',
      'aks-w3': 'proven',
      'aks-w4': 'skipped',
      'aks-w5': 'proven',
      ...Object.fromEntries(FILLERS.map((name) => [name, 'proven'])),
    };
    expect(statusOf(settled)).toEqual(expected);
    expect(byName(settled)['aks-w2']?.reason).toContain(`kmsflow retry ${clusterId('rg-west', 'aks-w2')}`);
    // Each cluster's procedure is its own, under its own workflow id: status shows the blocked one and why.
    const blocked = await world.kmsflowJson<ProcedureSnapshot>(
      ['status', clusterId('rg-west', 'aks-w2')],
      [0, 3, 4],
    );
    expect(blocked.phase).toBe('blocked');
    expect(JSON.stringify(blocked.steps)).toContain('IdentityLacksCryptoPermission');
    for (const [group, name] of [
      ['rg-east', 'aks-e3'],
      ['rg-west', 'aks-w2'],
    ] as const)
      expect(
        (await world.kmsflow(['cancel', clusterId(group, name), '--reason', 'after the campaign'])).code,
      ).toBe(0);

    progress = await untilPhase('fleet-1', ['completed', 'halted']);
    const clusters = byName(progress);
    expect(progress.phase).toBe('completed');
    expect(statusOf(progress)).toEqual({ ...expected, 'aks-e3': 'cancelled', 'aks-w2': 'cancelled' });
    expect(clusters['aks-w4']?.reason).toBe('skipped by operator');
    // Each failure spent its unit for good: cancelling the blocked procedures gives none back.
    expect(progress.budget).toEqual({ maxFailures: 2, failures: 2, left: 0 });
    expect(progress.stages.find((s) => s.name === 'rest')?.approvedBy).toBe('alice');

    // One new version of the shared key, and every proven cluster's Secrets under it in etcd.
    const newKey = clusters['aks-e1']!.keyId!;
    expect(newKey).not.toBe(before.kms?.keyId);
    for (const name of ['aks-e1', 'aks-e2', 'aks-w3', 'aks-w5', ...FILLERS]) {
      expect(clusters[name]?.keyId).toBe(newKey);
      await expectEverySecretUnder(name, newKey);
    }
    // Not touched: the dev cluster, the skipped ones, and the one whose preflight blocked.
    for (const name of ['aks-e4', 'aks-w4', 'aks-w2'])
      expect((await world.inspect(name)).kms?.keyId).toBe(before.kms?.keyId);

    // The auditors' report: each cluster's own evidence; exit 4 while any cluster it ran is not proven.
    const report = await world.kmsflowJson<CampaignReport>(['campaign', 'report', 'fleet-1'], 4);
    const reported = Object.fromEntries(report.clusters.map((c) => [c.name, c]));
    expect(reported['aks-e2']?.evidence?.verdict).toBe('proven');
    expect(reported['aks-e2']?.evidence?.reencryptions.at(-1)?.expected).toBe(newKey);
    expect(reported['aks-w2']?.evidence?.verdict).not.toBe('proven');
    expect(reported['aks-w4']?.evidence).toBeNull();
    const watched = await world.kmsflow(['campaign', 'watch', 'fleet-1']);
    expect(watched.code).toBe(0);
    for (const part of ['completed:', 'proven 25', 'cancelled 2', 'skipped 2', 'budget 2/2'])
      expect(watched.stdout).toContain(part);

    // A campaign with no error budget over three clusters, one at a time: it halts at aks-w2 (still without its
    // permission) and starts nothing after it. aks-e3, whose last update failed, is not a candidate until fixed.
    const file = path.join(world.dir, 'clusters.txt');
    fs.writeFileSync(
      file,
      [
        '# second wave',
        clusterId('rg-east', 'aks-e3'),
        clusterId('rg-west', 'aks-w2'),
        clusterId('rg-west', 'aks-w3'),
        clusterId('rg-west', 'aks-w4'),
      ].join('\n'),
    );
    const second = await world.kmsflow([
      'campaign',
      'start',
      'rotate',
      '--clusters-file',
      file,
      '--stage',
      'all concurrency=1',
      '--id',
      'fleet-2',
      ...FAST,
    ]);
    expect(second.code, second.stderr).toBe(0);
    await waitUntil(
      () => campaignStatus('fleet-2'),
      (p) => byName(p)['aks-w2']?.status === 'blocked',
      { what: 'aks-w2 blocked in fleet-2', timeoutMs: 120_000, intervalMs: 500 },
    );
    expect(
      (await world.kmsflow(['cancel', clusterId('rg-west', 'aks-w2'), '--reason', 'no role'])).code,
    ).toBe(0);
    progress = await untilPhase('fleet-2', ['completed', 'halted']);
    expect(progress.phase).toBe('halted');
    expect(progress.haltReason).toContain('more than the error budget of 0');
    expect(progress.clusters.map((c) => [c.name, c.status])).toEqual([
      ['aks-e3', 'skipped'],
      ['aks-w2', 'cancelled'],
      ['aks-w3', 'not-started'],
      ['aks-w4', 'not-started'],
    ]);
    expect(progress.clusters[0]?.reason).toContain('ARM reports the cluster Failed');
    expect((await world.inspect('aks-w4')).kms?.keyId).toBe(before.kms?.keyId);
    expect((await world.kmsflow(['campaign', 'watch', 'fleet-2'])).code).toBe(4);

    // --busy wait: aks-e2 is busy with an operator's own procedure (blocked: it rotates to the key in use), so the
    // campaign waits for it; once the operator cancels that procedure, the campaign's runs and is proven.
    const e2 = clusterId('rg-east', 'aks-e2');
    expect(
      (await world.kmsflow(['start', 'rotate', '--cluster', e2, '--key-id', newKey, ...FAST])).code,
    ).toBe(0);
    await waitUntil(
      () => world.kmsflowJson<ProcedureSnapshot>(['status', e2], [0, 3, 4]),
      (s) => s.phase === 'blocked',
      { what: "the operator's procedure blocked", timeoutMs: 60_000 },
    );
    fs.writeFileSync(file, `${e2}\n`);
    const third = await world.kmsflow([
      'campaign',
      'start',
      'rotate',
      '--clusters-file',
      file,
      '--stage',
      'all',
      '--id',
      'fleet-3',
      '--busy',
      'wait',
      '--recheck',
      '1',
      ...FAST,
    ]);
    expect(third.code, third.stderr).toBe(0);
    const busy = await waitUntil(
      () => campaignStatus('fleet-3'),
      (p) => p.clusters[0]?.status === 'waiting-busy',
      { what: 'aks-e2 waiting-busy', timeoutMs: 60_000, intervalMs: 500 },
    );
    expect(busy.clusters[0]?.reason).toContain('busy: another procedure runs on it');
    expect((await world.kmsflow(['cancel', e2, '--reason', 'the campaign does it'])).code).toBe(0);
    progress = await untilPhase('fleet-3', ['completed', 'halted']);
    expect(progress.clusters.map((c) => c.status)).toEqual(['proven']);
    await expectEverySecretUnder('aks-e2', progress.clusters[0]!.keyId!);

    const listed = await world.kmsflowJson<{ campaigns: { campaignId: string }[] }>(['campaign', 'list']);
    expect(listed.campaigns.map((c) => c.campaignId).sort()).toEqual(['fleet-1', 'fleet-2', 'fleet-3']);
  },
  LONG,
);

it("selects an Azure Kubernetes Fleet Manager fleet's members, narrowed by tag, and refuses a malformed fleet id before anything runs", async () => {
  const fleet = `/subscriptions/${SUBSCRIPTION}/resourceGroups/rg-east/providers/Microsoft.ContainerService/fleets/fleet-prod`;
  const all = await world.kmsflowJson<CampaignPlan>([
    'campaign',
    'plan',
    'rotate',
    '--fleet',
    fleet,
    '--stage',
    'all',
  ]);
  expect(all.members.map((m) => m.name)).toEqual(['aks-e1', 'aks-e4', ...FILLERS.slice(0, 7), 'aks-w3']);
  const prodOnly = await world.kmsflowJson<CampaignPlan>([
    'campaign',
    'plan',
    'rotate',
    '--fleet',
    fleet,
    '--tag',
    'env=prod',
    '--stage',
    'all',
  ]);
  expect(prodOnly.members.map((m) => m.name)).toEqual(['aks-e1', ...FILLERS.slice(0, 7), 'aks-w3']);
  // The fleet's update groups as stages: aks-e4's group "dev" first, the others after it.
  const byGroup = await world.kmsflowJson<CampaignPlan>([
    'campaign',
    'plan',
    'rotate',
    '--fleet',
    fleet,
    '--stage',
    'dev group=dev',
    '--stage',
    'rest concurrency=3',
  ]);
  expect(byGroup.stages.map((s) => [s.name, s.clusters])).toEqual([
    ['dev', 1],
    ['rest', 9],
  ]);
  expect(byGroup.members.find((m) => m.name === 'aks-e4')?.stage).toBe('dev');
  const bad = await world.kmsflow(['campaign', 'plan', 'rotate', '--fleet', '/subscriptions/x/fleets/y']);
  expect(bad.code).toBe(2);
  expect(bad.stderr).toContain('is not a fleet resource id');
});
