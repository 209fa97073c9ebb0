// Campaigns as operators steer them, through real kmsflow processes: a campaign cancelled through Temporal
// itself leaves its procedures running to their end; then, with continue-as-new forced (the dev server suggests
// it after ten events, so every campaign spans many runs): `campaign cancel` during a soak holds across
// runs and starts nothing after; a gate is passed only by naming its stage and a retry never jumps one; a
// retried failure keeps its unit of the budget; a stopped cluster is skipped without spending it.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Connection, WorkflowClient } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findOrBuildTemporalCli } from '../../client/temporal-cli';
import { readSandboxEnv } from '../../sandbox/env-file';
import { createSandboxClients } from '../../worker/sandbox-clients';
import type { ProcedureSnapshot } from '../../client/output/shapes';
import type { ScenarioInput } from '../../sandbox/scenario';
import { type CampaignProgress, campaignWorkflowId } from '../../workflows/campaign-messages';
import { waitUntil } from '../helpers/wait';
import { type CliWorld, fastReencryptFlags, startCliWorld } from '../lifecycle/cli-world';

const SUBSCRIPTION = '11111111-2222-4333-8444-777777777777';
const VAULT = 'kv-ops';
const secrets = (seed: number) => ({ count: 12, namespaces: 2, seed, maxBytes: 1024 });
const kms = { vault: VAULT, key: 'ops', version: 1, networkAccess: 'Public' as const };
const member = (
  name: string,
  group: string,
  extra: Partial<NonNullable<ScenarioInput['clusters']>[number]> = {},
) => ({
  name,
  tags: { group },
  identity: 'id-kms',
  kms,
  secrets: secrets(name.length + name.charCodeAt(name.length - 1)),
  ...extra,
});

const scenario: ScenarioInput = {
  seed: 270,
  tenantId: '72f988bf-0000-4000-a000-00000000c0de',
  subscriptions: [{ id: SUBSCRIPTION, resourceGroups: [{ name: 'rg-ops', location: 'eastus' }] }],
  principals: [{ name: 'operator', type: 'User' }],
  operator: 'operator',
  // id-norole was never granted the vault's Crypto User role: its cluster's preflight blocks.
  identities: [{ name: 'id-kms' }, { name: 'id-norole' }],
  vaults: [{ name: VAULT, enablePurgeProtection: true, keys: [{ name: 'ops', versions: 1 }] }],
  roleAssignments: [
    { role: 'Key Vault Crypto Officer', principal: 'operator', scope: `vault:${VAULT}` },
    { role: 'Key Vault Crypto User', principal: 'id-kms', scope: `vault:${VAULT}` },
  ],
  clusters: [
    member('aks-d1', 'disable'),
    member('aks-d2', 'disable'),
    member('aks-c1', 'cancel', { identity: 'id-norole' }),
    member('aks-c2', 'cancel'),
    member('aks-g1', 'gates'),
    member('aks-g2', 'gates'),
    member('aks-g3', 'gates'),
    member('aks-f1', 'budget', { identity: 'id-norole' }),
    member('aks-s1', 'budget', { stopped: true }),
    member('aks-ok', 'budget'),
    member('aks-h1', 'health'),
    member('aks-h2', 'health'),
  ],
};

const FAST = fastReencryptFlags();
let world: CliWorld;

/** Tests in `body` run against a world of their own: with continue-as-new forced every ten events, or not. */
function inWorld(name: string, forceContinueAsNew: boolean, body: () => void) {
  describe(name, () => {
    beforeAll(async () => {
      world = await startCliWorld(
        { scenario },
        forceContinueAsNew ? { dynamicConfig: { 'limit.historyCount.suggestContinueAsNew': 10 } } : {},
      );
    }, 120_000);
    afterAll(async () => {
      await world?.teardown();
    });
    body();
  });
}

const ok = async (args: string[]) => {
  const r = await world.kmsflow(args);
  expect(r.code, `kmsflow ${args.join(' ')}\n${r.stdout}\n${r.stderr}`).toBe(0);
  return r;
};
const startCampaign = (id: string, procedure: string, group: string, ...more: string[]) =>
  ok([
    'campaign',
    'start',
    procedure,
    '--subscription',
    SUBSCRIPTION,
    '--tag',
    `group=${group}`,
    '--id',
    id,
    ...more,
    ...FAST,
  ]);
const status = (id: string) => world.kmsflowJson<CampaignProgress>(['campaign', 'status', id]);
const until = (id: string, done: (p: CampaignProgress) => boolean, what: string, timeoutMs = 120_000) =>
  waitUntil(() => status(id), done, { what, timeoutMs, intervalMs: 500 });
const byName = (p: CampaignProgress) => Object.fromEntries(p.clusters.map((c) => [c.name, c]));
const clusterId = (name: string) =>
  `/subscriptions/${SUBSCRIPTION}/resourceGroups/rg-ops/providers/Microsoft.ContainerService/managedClusters/${name}`;
const procedure = (cluster: string) =>
  world.kmsflowJson<ProcedureSnapshot>(['status', clusterId(cluster)], [0, 3, 4]);

async function withClient<T>(use: (client: WorkflowClient) => Promise<T>): Promise<T> {
  const connection = await Connection.connect({ address: world.address });
  try {
    return await use(new WorkflowClient({ connection }));
  } finally {
    await connection.close();
  }
}

/** When each run of the campaign workflow started, oldest first, as Temporal lists them. */
const campaignRunStarts = (id: string) =>
  withClient(async (client) => {
    const starts: number[] = [];
    for await (const run of client.list({ query: `KmsCampaign = '${id}' AND WorkflowType = 'campaign'` }))
      starts.push(run.startTime.getTime());
    return starts.sort((a, b) => a - b);
  });

inWorld('a campaign whose runs are long', false, () => {
  // One run starts the procedures and receives the cancel: the child options alone keep it from them.
  it('a campaign cancelled with `temporal workflow cancel` leaves its procedures running to their end', async () => {
    await startCampaign('disable-ops', 'disable', 'disable', '--stage', 'all concurrency=2');
    // disable-kms waits at its own gate: both procedures run, waiting for their operator.
    await until(
      'disable-ops',
      (p) => p.clusters.every((c) => c.status === 'waiting-approval'),
      'both procedures at their gate',
    );
    const temporalCli = await findOrBuildTemporalCli();
    await promisify(execFile)(temporalCli, [
      'workflow',
      'cancel',
      '--address',
      world.address,
      '--workflow-id',
      campaignWorkflowId('disable-ops'),
    ]);
    await waitUntil(
      () => withClient((c) => c.getHandle(campaignWorkflowId('disable-ops')).describe()),
      (d) => d.status.name === 'CANCELLED',
      { what: 'the campaign to end cancelled', timeoutMs: 30_000, intervalMs: 300 },
    );
    // The campaign never asked Temporal to cancel a procedure (without the abandon cancellation type it would, and
    // only the server's dropping of requests from a closed workflow would spare them).
    const history = await withClient((c) => c.getHandle(campaignWorkflowId('disable-ops')).fetchHistory());
    const cancelRequests = history.events!.filter(
      (e) =>
        e.eventType ===
        temporal.api.enums.v1.EventType.EVENT_TYPE_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED,
    );
    expect(cancelRequests).toEqual([]);
    // Neither procedure received a cancel: each still waits at its gate, and goes on to its end once approved.
    for (const cluster of ['aks-d1', 'aks-d2']) {
      const snapshot = await procedure(cluster);
      expect([snapshot.status, snapshot.phase], cluster).toEqual(['running', 'waiting-approval']);
    }
    await ok(['approve', clusterId('aks-d1'), '--as', 'alice']);
    const ended = await waitUntil(
      () => procedure('aks-d1'),
      (s) => s.status !== 'running',
      { what: 'aks-d1 to end', timeoutMs: 120_000, intervalMs: 500 },
    );
    expect(ended.status).toBe('completed');
    const entries = (await world.inspect('aks-d1')).etcdEntries ?? [];
    expect(entries.length).toBeGreaterThan(0);
    expect(entries.filter((e) => e.provider.type !== 'identity')).toEqual([]);
    await ok(['cancel', clusterId('aks-d2'), '--reason', 'test over', '--as', 'alice']);
  }, 300_000);
});

inWorld('campaigns that continue as new every ten events', true, () => {
  it('`campaign cancel` during a soak holds across continue-as-new: nothing starts after it', async () => {
    const keyBefore = (await world.inspect('aks-c2')).kms!.keyId;
    await startCampaign(
      'cancel-ops',
      'rotate',
      'cancel',
      '--stage',
      'first size=1 soak=30s',
      '--stage',
      'rest',
      '--max-failures',
      '1',
    );
    const soaking = await until(
      'cancel-ops',
      (p) => p.stages[0]!.status === 'soaking',
      'the first stage to soak',
    );
    // aks-c1's identity lacks the vault role: its procedure is blocked, so the cancelled campaign waits for it, and
    // hands over to new runs meanwhile.
    expect(byName(soaking)['aks-c1']!.status).toBe('blocked');
    await ok(['campaign', 'cancel', 'cancel-ops', '--reason', 'change freeze', '--as', 'alice']);
    const cancelledAt = Date.now();
    // A quiet run has no reason to hand over: operator requests grow its history until the server suggests it.
    const handedOver = await waitUntil(
      async () => {
        await ok(['campaign', 'recheck', 'cancel-ops']);
        return campaignRunStarts('cancel-ops');
      },
      (starts) => starts.some((t) => t > cancelledAt),
      { what: 'a run of the campaign after the cancel', timeoutMs: 30_000, intervalMs: 500 },
    );
    expect(handedOver.length).toBeGreaterThan(2);
    // Past the soak's end, the next stage has still not started: the cancel held in the new runs.
    await new Promise((resolve) =>
      setTimeout(resolve, Math.max(0, Date.parse(soaking.stages[0]!.soakUntil!) + 3_000 - Date.now())),
    );
    const waiting = await status('cancel-ops');
    expect(waiting.endedAt).toBeUndefined();
    expect(waiting.cancel).toMatchObject({ requestedBy: 'alice', reason: 'change freeze' });
    expect(byName(waiting)['aks-c2']!.status).toBe('pending');
    await ok(['cancel', clusterId('aks-c1'), '--reason', 'campaign cancelled', '--as', 'alice']);

    const done = await until('cancel-ops', (p) => !!p.endedAt, 'the campaign to end', 90_000);
    expect(done.phase).toBe('cancelled');
    expect(byName(done)['aks-c1']!.status).toBe('cancelled');
    expect(byName(done)['aks-c2']).toMatchObject({
      status: 'not-started',
      reason: 'the campaign was cancelled before its turn',
    });
    expect(done.stages.map((s) => s.status)).toEqual(['soaking', 'not-started']);
    expect((await world.inspect('aks-c2')).kms!.keyId).toBe(keyBefore);
    expect((await world.kmsflow(['status', clusterId('aks-c2')])).code).toBe(5);
    const again = await world.kmsflow(['campaign', 'cancel', 'cancel-ops', '--reason', 'twice']);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain(
      'Campaign cancel-ops has already ended (cancelled): there is nothing to cancel.',
    );
  }, 300_000);

  it('passes a gate only by its stage name, before or after a stage, and never runs a retry in a stage that has not started', async () => {
    await startCampaign(
      'gates-ops',
      'rotate',
      'gates',
      '--stage',
      'one size=1 approval=after',
      '--stage',
      'two size=1 approval',
      '--stage',
      'three approval',
    );
    // Stage one ran, was health-checked, and waits for its approval after the stage.
    const after = await until(
      'gates-ops',
      (p) => p.phase === 'waiting-approval',
      'stage one at its gate after',
    );
    expect(byName(after)['aks-g1']!.status).toBe('proven');
    expect(after.stages[0]).toMatchObject({ status: 'waiting-approval', gate: 'after', checked: 1 });
    const unnamed = await world.kmsflow(['campaign', 'approve', 'gates-ops']);
    expect(unnamed.code).toBe(2);
    expect(unnamed.stderr).toContain('stage "one" waits for approval after its soak');
    await ok(['campaign', 'approve', 'gates-ops', 'one', '--as', 'carol']);

    const waiting = await until(
      'gates-ops',
      (p) => p.phase === 'waiting-approval' && p.stages[1]!.status === 'waiting-approval',
      'stage two at its gate',
    );
    expect(waiting.stages[0]).toMatchObject({ status: 'done', approvedAfterBy: 'carol' });
    const wrong = await world.kmsflow(['campaign', 'approve', 'gates-ops', 'one']);
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toContain('stage one does not wait');

    // aks-g2 is skipped in stage two, which waits at its gate: a retry would run it past the gate, so it is refused.
    await ok(['campaign', 'skip', 'gates-ops', 'aks-g2', '--as', 'alice']);
    const retry = await world.kmsflow(['campaign', 'retry', 'gates-ops', 'aks-g2']);
    expect(retry.code, retry.stdout + retry.stderr).toBe(2);
    expect(retry.stderr).toContain('is in stage two, which has not started');
    await new Promise((r) => setTimeout(r, 2_000));
    expect(byName(await status('gates-ops'))['aks-g2']!.status).toBe('skipped');
    expect((await world.kmsflow(['status', clusterId('aks-g2')])).code).toBe(5);

    await ok(['campaign', 'approve', 'gates-ops', 'two', '--as', 'bob']);
    // Stage three waits at its gate; the operator skips it whole, with the reason.
    await until('gates-ops', (p) => p.stages[2]!.status === 'waiting-approval', 'stage three at its gate');
    const skipped = await world.kmsflowJson<{ stage: string; clusters: number }>([
      'campaign',
      'skip-stage',
      'gates-ops',
      'three',
      '--reason',
      'done by hand',
      '--as',
      'alice',
    ]);
    expect(skipped).toMatchObject({ stage: 'three', clusters: 1 });
    const done = await until('gates-ops', (p) => !!p.endedAt, 'the campaign to end');
    expect(done.phase).toBe('completed');
    expect(done.stages.map((s) => s.status)).toEqual(['done', 'done', 'skipped']);
    expect(done.stages[1]!.approvedBy).toBe('bob');
    expect(byName(done)['aks-g2']!.reason).toBe('skipped by alice');
    expect(byName(done)['aks-g3']!.reason).toBe('stage three skipped by alice: done by hand');
    expect((await world.kmsflow(['status', clusterId('aks-g3')])).code).toBe(5);
    // A cluster skipped in its stage is owed a proof: the report says the campaign did not prove every cluster.
    expect((await world.kmsflow(['campaign', 'report', 'gates-ops'])).code).toBe(4);
  }, 300_000);

  it('keeps the unit a retried failure spent, and skips a stopped cluster without spending one', async () => {
    // Stage first: aks-f1 (its identity lacks the vault role: its preflight blocks) and aks-ok; then aks-s1 (stopped).
    await startCampaign(
      'budget-ops',
      'rotate',
      'budget',
      '--stage',
      'first size=2 concurrency=2 soak=10m',
      '--stage',
      'rest',
      '--max-failures',
      '1',
    );
    const soaking = await until(
      'budget-ops',
      (p) => p.stages[0]!.status === 'soaking',
      'stage first to soak with aks-f1 blocked and aks-ok proven',
    );
    expect(byName(soaking)['aks-f1']!.status).toBe('blocked');
    expect(byName(soaking)['aks-ok']!.status).toBe('proven');
    expect(soaking.budget).toEqual({ maxFailures: 1, failures: 1, left: 0 });

    // The operator gives up on this attempt and retries it in the campaign: the unit stays spent.
    await ok(['cancel', clusterId('aks-f1'), '--reason', 'try again', '--as', 'alice']);
    await until('budget-ops', (p) => byName(p)['aks-f1']?.status === 'cancelled', 'aks-f1 cancelled');
    await ok(['campaign', 'retry', 'budget-ops', 'aks-f1', '--as', 'alice']);
    expect((await status('budget-ops')).budget).toEqual({ maxFailures: 1, failures: 1, left: 0 });
    // The retry runs in the next stage: the operator ends the soak rather than wait ten minutes.
    await ok(['campaign', 'skip-soak', 'budget-ops', '--as', 'alice']);
    const again = await until(
      'budget-ops',
      (p) => byName(p)['aks-f1']?.status === 'blocked' && byName(p)['aks-s1']?.status !== 'pending',
      'aks-f1 blocked again, aks-s1 looked at',
    );
    expect(again.stages[0]!.skippedBy).toBe('soak ended early by alice');
    expect(byName(again)['aks-s1']).toMatchObject({
      status: 'skipped',
      reason: expect.stringContaining('busy: stopped'),
    });
    expect(again.budget.failures).toBe(1);
    // The campaign ends only once the procedures it started have: aks-f1 waits for its operator.
    expect(again.endedAt).toBeUndefined();
    await ok(['cancel', clusterId('aks-f1'), '--reason', 'no role yet', '--as', 'alice']);

    const done = await until('budget-ops', (p) => !!p.endedAt, 'the campaign to end');
    expect(done.phase).toBe('completed');
    expect(done.budget.failures).toBe(1);
    expect(byName(done)['aks-f1']!.status).toBe('cancelled');
    expect((await world.kmsflow(['campaign', 'report', 'budget-ops'])).code).toBe(4);
  }, 300_000);
  it("halts at the health check after a stage's soak when a proven cluster's KMS plugin fails", async () => {
    await startCampaign(
      'health-ops',
      'rotate',
      'health',
      '--stage',
      'first size=1 soak=15s',
      '--stage',
      'rest',
    );
    const soaking = await until(
      'health-ops',
      (p) => p.stages[0]!.status === 'soaking',
      'stage first to soak',
    );
    const h1 = byName(soaking)['aks-h1']!;
    expect(h1.status).toBe('proven');
    // Someone disables the key version aks-h1 was just moved to: its plugin can no longer use it (the API server
    // reuses a good readiness answer for a minute, so here the key's state is what the check finds first).
    const url = new URL(h1.keyId!);
    const [, , name, version] = url.pathname.split('/');
    const sandbox = readSandboxEnv({ file: world.envFile })!;
    await createSandboxClients(sandbox.endpoints, sandbox.principal)
      .keys(url.origin)
      .updateKeyProperties(name!, version!, { enabled: false });

    const done = await until('health-ops', (p) => !!p.endedAt, 'the campaign to end', 120_000);
    expect(done.phase).toBe('halted');
    expect(byName(done)['aks-h1']!.status).toBe('unhealthy');
    expect(byName(done)['aks-h1']!.reason).toContain('failed its health check after stage first');
    expect(byName(done)['aks-h1']!.reason).toContain(`its key version ${h1.keyId} is disabled`);
    expect(byName(done)['aks-h2']).toMatchObject({
      status: 'not-started',
      reason: 'the error budget was spent before its turn',
    });
    expect(done.budget).toEqual({ maxFailures: 0, failures: 1, left: 0 });
    expect(done.stages.map((s) => s.status)).toEqual(['checking', 'not-started']);
  }, 300_000);
});
