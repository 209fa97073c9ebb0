// A cluster's whole life through the CLI, as a user lives it: real `kmsflow` and `kubectl` processes, the
// cluster's one procedure workflow id reused by every procedure, Secrets changing between and during the
// procedures, a cancel half-way through a re-encryption, a blocked step fixed and retried. After every
// procedure the etcd view (`kmsflow sandbox inspect`) must show every Secret readable and under the key ARM
// reports, the report must be proven with a watermark newer than the previous procedure's, the key ledger
// must list the right versions, and the article's own pipeline must find nothing left to rewrite.
import * as fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type {
  KeysResult,
  ProcedureList,
  ProcedureSnapshot,
  ReportResult,
  StartResult,
} from '../../client/output/shapes';
import type { ClusterInspection } from '../../sandbox/inspect';
import type { ScenarioInput } from '../../sandbox/scenario';
import { waitUntil } from '../helpers/wait';
import { type CliWorld, type ProcessRun, startCliWorld, fastReencryptFlags } from './cli-world';

const SUBSCRIPTION = '11111111-2222-4333-8444-555555555555';
const GROUP = 'rg-life';
const VAULT = 'kv-life';
/** A second vault, for a rotation that moves KMS to another vault in the other mode (the article: one update). */
const VAULT2 = 'kv-life-b';
/** The other clusters' vault: kv-life is aks-life's alone, so its switch to Private breaks no other cluster. */
const VAULT3 = 'kv-life-c';

const scenario: ScenarioInput = {
  seed: 12,
  tenantId: '72f988bf-0000-4000-a000-00000000c0de',
  subscriptions: [{ id: SUBSCRIPTION, resourceGroups: [{ name: GROUP, location: 'eastus' }] }],
  principals: [{ name: 'operator', type: 'User' }],
  operator: 'operator',
  identities: [{ name: 'id-kms' }],
  vaults: [
    {
      name: VAULT,
      enablePurgeProtection: true,
      keys: [{ name: 'life', versions: 3 }],
    },
    {
      name: VAULT3,
      enablePurgeProtection: true,
      keys: [
        { name: 'legacy', versions: 3 },
        { name: 'move', versions: 2 },
      ],
    },
    { name: VAULT2, enablePurgeProtection: true, keys: [{ name: 'moved', versions: 1 }] },
  ],
  roleAssignments: [VAULT, VAULT2, VAULT3].flatMap((vault) => [
    { role: 'Key Vault Crypto Officer', principal: 'operator', scope: `vault:${vault}` },
    { role: 'Key Vault Crypto User', principal: 'id-kms', scope: `vault:${vault}` },
    { role: 'Key Vault Contributor', principal: 'id-kms', scope: `vault:${vault}` },
  ]),
  clusters: [
    {
      name: 'aks-life',
      kubernetesVersion: '1.29',
      identity: 'id-kms',
      apiServerVnetIntegration: true,
      secrets: { count: 150, namespaces: 4, seed: 3, maxBytes: 4096 },
    },
    {
      name: 'aks-move',
      kubernetesVersion: '1.29',
      identity: 'id-kms',
      apiServerVnetIntegration: true,
      kms: { vault: VAULT3, key: 'move', version: 1, networkAccess: 'Public' },
      secrets: { count: 60, namespaces: 2, seed: 5, maxBytes: 4096 },
    },
    {
      name: 'aks-v1',
      kubernetesVersion: '1.26',
      identity: 'id-kms',
      kms: { vault: VAULT3, key: 'legacy', version: 1, networkAccess: 'Public' },
      secrets: { count: 120, namespaces: 3, seed: 4, maxBytes: 4096 },
    },
  ],
};

/** Re-encryption settings of every start: small pages and runs so a few hundred Secrets cross both. */
const FAST = fastReencryptFlags({ pageSize: 50, concurrency: 8 });

/** A test runs one or more whole procedures through the CLI on a loaded 2-core machine. */
const LONG = 300_000;

let world: CliWorld;
const clusterId = (name: string) =>
  `/subscriptions/${SUBSCRIPTION}/resourceGroups/${GROUP}/providers/Microsoft.ContainerService/managedClusters/${name}`;
const vaultId = `/subscriptions/${SUBSCRIPTION}/resourceGroups/${GROUP}/providers/Microsoft.KeyVault/vaults/${VAULT}`;
let keyUrl: string;
const keyIds: Record<string, string[]> = {};
/** The newest watermark proven on each cluster so far: the next procedure's must be newer. */
const lastWatermark: Record<string, bigint> = {};

function expectOk(r: ProcessRun, what: string): ProcessRun {
  if (r.code !== 0)
    throw new Error(
      `${what} exited ${r.code}\n--- stdout\n${r.stdout.slice(-6000)}\n--- stderr\n${r.stderr.slice(-3000)}`,
    );
  return r;
}

async function loadKeyIds(): Promise<void> {
  const overview = await world.kmsflowJson<{
    vaults: { name: string; keys: { name: string; versions: { version: string }[] }[] }[];
  }>(['sandbox', 'inspect']);
  for (const vault of [VAULT, VAULT2, VAULT3]) {
    const url = keyUrl.replace(VAULT, vault);
    for (const key of overview.vaults.find((v) => v.name === vault)!.keys)
      keyIds[key.name] = key.versions.map((v) => `${url}/keys/${key.name}/${v.version}`);
  }
}

/** `kmsflow start PROCEDURE --cluster ID ARGS --watch`: the procedure's outcome is the exit code. */
async function startAndWatch(cluster: string, procedure: string, args: string[]): Promise<ProcessRun> {
  return explainIfSlow(
    cluster,
    world.kmsflow([
      'start',
      procedure,
      '--cluster',
      clusterId(cluster),
      ...args,
      ...FAST,
      '--watch',
      '--interval',
      '0.5',
    ]),
  );
}

/** A watch that has not ended after `ms` fails with where the procedure stands and what the worker said. */
async function explainIfSlow<T>(cluster: string, pending: Promise<T>, ms = 180_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const slow = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      void world
        .kmsflow(['status', clusterId(cluster)])
        .then((s) =>
          reject(
            new Error(
              `no outcome within ${ms} ms:\n${s.stdout}\n${s.stderr}\n--- worker log\n${world.workerLog().slice(-5000)}`,
            ),
          ),
        );
    }, ms);
  });
  try {
    return await Promise.race([pending, slow]);
  } finally {
    clearTimeout(timer);
  }
}

const status = (cluster: string) =>
  world.kmsflowJson<ProcedureSnapshot>(['status', clusterId(cluster)], [0, 3, 4]);

/** Every Secret readable and stored under the key ARM reports now (or unencrypted when KMS is off). */
async function expectEverySecretUnderArmKey(
  cluster: string,
  expected: { keyId: string } | 'identity',
): Promise<ClusterInspection> {
  const view = await world.inspect(cluster);
  const entries = view.etcdEntries ?? [];
  expect(entries.length).toBeGreaterThan(0);
  if (expected === 'identity') {
    expect(view.kms?.enabled ?? false).toBe(false);
    expect(
      entries.filter((e) => e.provider.type !== 'identity').map((e) => `${e.namespace}/${e.name}`),
    ).toEqual([]);
  } else {
    expect(view.kms?.enabled).toBe(true);
    expect(view.kms?.keyId?.toLowerCase()).toBe(expected.keyId.toLowerCase());
    const wrong = entries.filter(
      (e) =>
        e.provider.type === 'identity' || e.provider.keyId.toLowerCase() !== expected.keyId.toLowerCase(),
    );
    expect(wrong.map((e) => `${e.namespace}/${e.name} ${JSON.stringify(e.provider)}`)).toEqual([]);
  }
  expect(entries.filter((e) => !e.readable).map((e) => `${e.namespace}/${e.name}`)).toEqual([]);
  return view;
}

/** `kmsflow report` says proven (exit 0), and every watermark is newer than the previous procedure's. */
async function expectProvenAndNewer(cluster: string): Promise<ReportResult> {
  const report = await world.kmsflowJson<ReportResult>(['report', clusterId(cluster)], [0, 4, 5]);
  expect({ verdict: report.verdict, notProven: report.reencryptions.flatMap((r) => r.notProven) }).toEqual({
    verdict: 'proven',
    notProven: [],
  });
  expect(report.exitCode).toBe(0);
  const previous = lastWatermark[cluster] ?? 0n;
  for (const r of report.reencryptions) {
    expect(BigInt(r.watermark!)).toBeGreaterThan(previous);
    expect(r.rewrite.keptDespiteKeyChange).toBe(0);
  }
  lastWatermark[cluster] = report.reencryptions
    .map((r) => BigInt(r.watermark!))
    .reduce((a, b) => (a > b ? a : b), previous);
  return report;
}

/** The article's `kubectl get secrets -A -o json | kubectl replace -f -` afterwards finds nothing stale: no resourceVersion moves. */
async function expectSeedPipelineChangesNothing(cluster: string): Promise<void> {
  const before = new Map(
    (await world.inspect(cluster)).etcdEntries!.map((e) => [`${e.namespace}/${e.name}`, e.resourceVersion]),
  );
  expectOk(await world.seedPipeline(cluster), 'the seed pipeline');
  const after = new Map(
    (await world.inspect(cluster)).etcdEntries!.map((e) => [`${e.namespace}/${e.name}`, e.resourceVersion]),
  );
  const moved = [...after].filter(([k, rv]) => before.get(k) !== rv).map(([k]) => k);
  expect(moved).toEqual([]);
}

async function keys(cluster: string): Promise<KeysResult> {
  return world.kmsflowJson<KeysResult>(['keys', clusterId(cluster)]);
}

const lower = (ids: (string | null | undefined)[]) => ids.map((k) => k?.toLowerCase() ?? null);

/** Secrets created, updated and deleted with kubectl, `count` at a time (one `kubectl create` of a List). */
let churnRound = 0;
async function changeSecrets(cluster: string, count: number): Promise<void> {
  churnRound += 1;
  const items = Array.from({ length: count }, (_, i) => ({
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      name: `user-${churnRound}-${i}`,
      namespace: 'default',
      labels: { round: String(churnRound) },
    },
    stringData: { token: `value-${churnRound}-${i}-${Math.random().toString(36).slice(2)}` },
  }));
  const file = `${world.dir}/round-${churnRound}.json`;
  fs.writeFileSync(file, JSON.stringify({ apiVersion: 'v1', kind: 'List', items }));
  // `create`, not `apply`: apply stores the object in an annotation that `kubectl replace` rewrites, so the
  // seed pipeline would really write those Secrets whatever their key.
  expectOk(await world.kubectl(cluster, ['create', '-f', file]), 'kubectl create');
  if (churnRound > 1) {
    expectOk(
      await world.kubectl(cluster, [
        'delete',
        'secret',
        '-n',
        'default',
        '-l',
        `round=${churnRound - 1}`,
        '--wait=false',
      ]),
      'kubectl delete',
    );
    expectOk(
      await world.kubectl(cluster, [
        'annotate',
        'secret',
        '-n',
        'default',
        '-l',
        `round=${churnRound}`,
        `touched=${churnRound}`,
        '--overwrite',
      ]),
      'kubectl annotate',
    );
  }
}

/** kubectl writes while a procedure runs, until `stop` resolves; returns how many writes succeeded. */
async function churnWhile(cluster: string, stop: Promise<unknown>): Promise<number> {
  let stopped = false;
  void stop.finally(() => (stopped = true));
  let writes = 0;
  for (let i = 0; !stopped; i++) {
    const name = `during-${churnRound}-${i}`;
    const created = await world.kubectl(cluster, [
      'create',
      'secret',
      'generic',
      name,
      '-n',
      'default',
      `--from-literal=v=${i}-${Math.random()}`,
    ]);
    if (created.code === 0) writes++;
    if (i % 3 === 2) {
      const deleted = await world.kubectl(cluster, [
        'delete',
        'secret',
        `during-${churnRound}-${i - 2}`,
        '-n',
        'default',
        '--wait=false',
      ]);
      if (deleted.code === 0) writes++;
    }
  }
  return writes;
}

beforeAll(async () => {
  world = await startCliWorld({ scenario });
  const port = fs.readFileSync(world.envFile, 'utf8').match(/KMSFLOW_SANDBOX_PORT=(\d+)/)![1];
  keyUrl = `https://${VAULT}.vault.azure.net:${port}`;
  await loadKeyIds();
}, 240_000);

afterAll(async () => {
  await world?.teardown();
});

describe('one cluster through its whole life, through the CLI', () => {
  it(
    'enable: every Secret under the key, proven',
    async () => {
      const [k1] = keyIds.life!;
      expectOk(await startAndWatch('aks-life', 'enable', ['--key-id', k1!]), 'start enable');
      await expectEverySecretUnderArmKey('aks-life', { keyId: k1! });
      await expectProvenAndNewer('aks-life');
      await expectSeedPipelineChangesNothing('aks-life');
    },
    LONG,
  );

  it(
    'rotate after kubectl wrote 300 Secrets, with kubectl writing during it: every Secret moves to the new key',
    async () => {
      const [k1, k2] = keyIds.life!;
      await changeSecrets('aks-life', 300);
      const watch = startAndWatch('aks-life', 'rotate', ['--key-id', k2!]);
      const writes = await churnWhile('aks-life', watch);
      expectOk(await watch, 'start rotate');
      expect(writes).toBeGreaterThan(0);
      await expectEverySecretUnderArmKey('aks-life', { keyId: k2! });
      const report = await expectProvenAndNewer('aks-life');
      // Every Secret from before the rotation was under k1: the rewrite pass must have moved them.
      expect(report.reencryptions.at(-1)!.rewrite.counts.rewritten).toBeGreaterThanOrEqual(450);
      await expectSeedPipelineChangesNothing('aks-life');
      const ledger = await keys('aks-life');
      expect(lower([ledger.slots.current, ledger.slots.previous])).toEqual(lower([k2, k1]));
      expect(ledger.lastReencryption).toMatchObject({ proven: true, status: 'completed' });
    },
    LONG,
  );

  it(
    'a second rotation right after, cancelled half-way through its re-encryption, then started again: proven under the new key',
    async () => {
      const [, k2, k3] = keyIds.life!;
      await changeSecrets('aks-life', 50);
      // Small pages (progress reaches the procedure every 5 pages) and a slow pace, so the cancel lands while
      // the rewrite pass still has most of the Secrets ahead of it.
      const slow = [...FAST, '--page-size', '10', '--max-qps', '10'];
      const started = await world.kmsflowJson<StartResult>([
        'start',
        'rotate',
        '--cluster',
        clusterId('aks-life'),
        '--key-id',
        k3!,
        ...slow,
      ]);
      await waitUntil(
        () => status('aks-life'),
        (s) =>
          s.currentStep === 'reencrypt' &&
          (s.steps.find((x) => x.id === 'reencrypt')?.progress?.done ?? 0) >= 40,
        { what: 'the re-encryption half-way', timeoutMs: 120_000, intervalMs: 300 },
      );
      expectOk(
        await world.kmsflow(['cancel', clusterId('aks-life'), '--reason', 'change window closed']),
        'kmsflow cancel',
      );
      const cancelled = await waitUntil(
        () => status('aks-life'),
        (s) => s.status !== 'running',
        { what: 'the cancel', timeoutMs: 60_000 },
      );
      expect(cancelled.status).toBe('cancelled');
      // The cancel stopped the re-encryption where it was, although it had continued as new since it started:
      // the Secrets are split between k2 and k3, and the child's last run ended cancelled.
      const split = new Set(
        (await world.inspect('aks-life')).etcdEntries!.map((e) =>
          e.provider.type === 'identity' ? 'identity' : e.provider.keyId.toLowerCase(),
        ),
      );
      expect([...split].sort()).toEqual(lower([k2, k3]).sort());
      const evidence = await world.kmsflowJson<ReportResult>(['report', clusterId('aks-life')], [0, 4, 5]);
      expect(evidence.note).toMatch(
        /1 re-encryption\(s\) failed, were cancelled or abandoned before their proof/,
      );
      // The ledger says the cluster has no proof now, and which run left it so.
      const ledger = await keys('aks-life');
      expect(ledger.lastReencryption).toMatchObject({
        status: 'started',
        proven: false,
        runId: started.runId,
      });
      expect(ledger.procedures.find((p) => p.firstRunId === started.runId)?.proof).toBe('unfinished');

      const again = await startAndWatch('aks-life', 'rotate', ['--key-id', k3!]);
      expectOk(again, 'start rotate again');
      await expectEverySecretUnderArmKey('aks-life', { keyId: k3! });
      const finished = await status('aks-life');
      expect(finished.steps.find((x) => x.id === 'rotate')?.detail).toMatch(/already in the desired state/);
      const report = await expectProvenAndNewer('aks-life');
      // The key change had landed: the second run changes no key, it re-encrypts what the cancelled one left under k2.
      expect(report.reencryptions.map((r) => r.step)).toEqual(['reencrypt']);
      expect(report.reencryptions[0]!.rewrite.counts.rewritten).toBeGreaterThan(0);
      await expectSeedPipelineChangesNothing('aks-life');
      const after = await keys('aks-life');
      expect(lower([after.slots.current, after.slots.previous])).toEqual(lower([k3, k2]));
    },
    LONG,
  );

  it(
    'retire: two more proven rotations, then the key in use is disabled; the ledger says what is still needed',
    async () => {
      const [k1, k2, k3] = keyIds.life!;
      await changeSecrets('aks-life', 40);
      expectOk(await startAndWatch('aks-life', 'retire', ['--approve', 'all']), 'start retire');
      await loadKeyIds();
      const [, , , k4, k5] = keyIds.life!;
      expect(k5).toBeDefined();
      await expectEverySecretUnderArmKey('aks-life', { keyId: k5! });
      await expectProvenAndNewer('aks-life');
      await expectSeedPipelineChangesNothing('aks-life');
      const ledger = await keys('aks-life');
      expect(lower([ledger.slots.current, ledger.slots.previous])).toEqual(lower([k5, k4]));
      expect(lower(ledger.stillNeeded).sort()).toEqual(lower([k4, k5]).sort());
      expect(lower(ledger.retirable).sort()).toEqual(lower([k1, k2]).sort());
      expect(ledger.keys.find((k) => k.keyId.toLowerCase() === k3!.toLowerCase())?.state).toBe('retired');
    },
    LONG,
  );

  it(
    'switch to Private and back to Public: proven each time, the vault follows',
    async () => {
      const k5 = keyIds.life![4]!;
      await changeSecrets('aks-life', 20);
      expectOk(
        await startAndWatch('aks-life', 'switch-mode', [
          '--mode',
          'Private',
          '--vault-id',
          vaultId,
          '--approve',
          'all',
        ]),
        'switch to Private',
      );
      const privateView = await expectEverySecretUnderArmKey('aks-life', { keyId: k5 });
      expect(privateView.kms?.keyVaultNetworkAccess).toBe('Private');
      await expectProvenAndNewer('aks-life');
      await changeSecrets('aks-life', 20);
      expectOk(
        await startAndWatch('aks-life', 'switch-mode', [
          '--mode',
          'Public',
          '--vault-id',
          vaultId,
          '--approve',
          'all',
        ]),
        'switch to Public',
      );
      const publicView = await expectEverySecretUnderArmKey('aks-life', { keyId: k5 });
      expect(publicView.kms?.keyVaultNetworkAccess).toBe('Public');
      await expectProvenAndNewer('aks-life');
      await expectSeedPipelineChangesNothing('aks-life');
    },
    LONG,
  );

  it(
    'disable with a step that blocks, is fixed and retried: every Secret unencrypted, proven',
    async () => {
      await changeSecrets('aks-life', 20);
      const fault = JSON.stringify({
        service: 'arm',
        method: 'PUT',
        path: 'managed[Cc]lusters/aks-life$',
        count: 1,
        action: { kind: 'error', status: 400, code: 'InvalidParameter', message: 'injected' },
      });
      expectOk(await world.kmsflow(['sandbox', 'faults', 'add', fault]), 'faults add');
      expectOk(
        await world.kmsflow([
          'start',
          'disable',
          '--cluster',
          clusterId('aks-life'),
          '--approve',
          'all',
          ...FAST,
        ]),
        'start disable',
      );
      const blocked = await waitUntil(
        () => status('aks-life'),
        (s) => s.phase === 'blocked' || s.status !== 'running',
        { what: 'the block', timeoutMs: 90_000 },
      );
      expect(blocked.phase).toBe('blocked');
      expect(blocked.currentStep).toBe('disable-kms');
      // A second start while it is blocked is refused, naming the run and the step.
      const refused = await world.kmsflow([
        'start',
        'rotate',
        '--cluster',
        clusterId('aks-life'),
        '--key-id',
        keyIds.life![0]!,
      ]);
      expect(refused.code).toBe(2);
      expect(refused.stderr).toMatch(
        new RegExp(`already runs disable-kms .*run ${blocked.runId}.*at step disable-kms`),
      );
      expectOk(await world.kmsflow(['sandbox', 'faults', 'clear']), 'faults clear');
      expectOk(await world.kmsflow(['retry', clusterId('aks-life')]), 'kmsflow retry');
      expectOk(await world.kmsflow(['watch', clusterId('aks-life'), '--interval', '0.5']), 'kmsflow watch');
      await expectEverySecretUnderArmKey('aks-life', 'identity');
      await expectProvenAndNewer('aks-life');
      await expectSeedPipelineChangesNothing('aks-life');
    },
    LONG,
  );

  it(
    'enable again with the current version: proven, and the cluster history lists every procedure, newest first',
    async () => {
      const k5 = keyIds.life![4]!;
      await changeSecrets('aks-life', 20);
      expectOk(await startAndWatch('aks-life', 'enable', ['--key-id', k5]), 'enable again');
      await expectEverySecretUnderArmKey('aks-life', { keyId: k5 });
      await expectProvenAndNewer('aks-life');
      await expectSeedPipelineChangesNothing('aks-life');

      const list = await world.kmsflowJson<ProcedureList>([
        'list',
        '--cluster',
        clusterId('aks-life'),
        '--limit',
        '50',
      ]);
      expect(list.procedures.map((p) => p.procedure)).toEqual([
        'enable-kms',
        'disable-kms',
        'switch-vault-mode',
        'switch-vault-mode',
        'retire-key',
        'rotate-key',
        'rotate-key',
        'rotate-key',
        'enable-kms',
      ]);
      expect(list.procedures.map((p) => p.proof)).toEqual([
        'proven',
        'proven',
        'proven',
        'proven',
        'proven',
        'proven',
        'unfinished',
        'proven',
        'proven',
      ]);
      expect(new Set(list.procedures.map((p) => p.workflowId)).size).toBe(1);
      // An older run's report is one --run away.
      const firstRotation = list.procedures[7]!;
      const old = await world.kmsflowJson<ReportResult>([
        'report',
        clusterId('aks-life'),
        '--run',
        firstRotation.firstRunId,
      ]);
      expect(old).toMatchObject({
        runId: firstRotation.firstRunId,
        verdict: 'proven',
        procedure: 'rotate-key',
      });
      const ledger = await keys('aks-life');
      expect(ledger.procedures.map((p) => p.firstRunId)).toEqual(list.procedures.map((p) => p.firstRunId));
    },
    LONG,
  );
});

describe('moving to another vault', () => {
  it(
    'one rotation moves KMS to a key of another vault in Private mode, another moves it back in Public mode: proven each time',
    async () => {
      const [, m2] = keyIds.move!;
      const [moved] = keyIds.moved!;
      const vault2Id = vaultId.replace(VAULT, VAULT2);
      await changeSecrets('aks-move', 20);
      expectOk(
        await startAndWatch('aks-move', 'rotate', [
          '--key-id',
          moved!,
          '--mode',
          'Private',
          '--vault-id',
          vault2Id,
        ]),
        'rotate to the other vault',
      );
      const privateView = await expectEverySecretUnderArmKey('aks-move', { keyId: moved! });
      expect(privateView.kms).toMatchObject({
        keyVaultNetworkAccess: 'Private',
        keyVaultResourceId: vault2Id,
      });
      await expectProvenAndNewer('aks-move');
      await changeSecrets('aks-move', 20);
      expectOk(
        await startAndWatch('aks-move', 'rotate', ['--key-id', m2!, '--mode', 'Public']),
        'rotate back to the first vault',
      );
      const publicView = await expectEverySecretUnderArmKey('aks-move', { keyId: m2! });
      expect(publicView.kms?.keyVaultNetworkAccess).toBe('Public');
      await expectProvenAndNewer('aks-move');
      await expectSeedPipelineChangesNothing('aks-move');
      const ledger = await keys('aks-move');
      expect(lower([ledger.slots.current, ledger.slots.previous])).toEqual(lower([m2, moved]));
    },
    LONG,
  );
});

describe('a KMS v1 cluster: migrate to v2, then rotate twice', () => {
  it(
    'migrates, then each rotation re-encrypts every Secret',
    async () => {
      const [l1, l2, l3] = keyIds.legacy!;
      await changeSecrets('aks-v1', 30);
      expectOk(
        await startAndWatch('aks-v1', 'migrate-v2', ['--target-version', '1.29', '--approve', 'all']),
        'migrate-v2',
      );
      const migrated = await expectEverySecretUnderArmKey('aks-v1', { keyId: l1! });
      expect(migrated.kubernetesVersion.startsWith('1.29')).toBe(true);
      expect(migrated.etcdEntries!.every((e) => e.provider.type === 'kms-v2')).toBe(true);
      await expectProvenAndNewer('aks-v1');
      for (const next of [l2!, l3!]) {
        await changeSecrets('aks-v1', 30);
        expectOk(await startAndWatch('aks-v1', 'rotate', ['--key-id', next]), `rotate to ${next}`);
        await expectEverySecretUnderArmKey('aks-v1', { keyId: next });
        await expectProvenAndNewer('aks-v1');
      }
      await expectSeedPipelineChangesNothing('aks-v1');
      const ledger = await keys('aks-v1');
      expect(lower([ledger.slots.current, ledger.slots.previous])).toEqual(lower([l3, l2]));
      expect(lower(ledger.retirable)).toEqual(lower([l1]));
    },
    LONG,
  );
});
