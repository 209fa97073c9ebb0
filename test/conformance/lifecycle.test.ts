/**
 * The KMS v2 part of a cluster's life through the CLI, on the real kube-apiserver + etcd + KMS v2 plugin:
 * real `kmsflow` and `kubectl` processes, the cluster's one workflow id reused by every procedure, Secrets
 * written between and during procedures, a rotation cancelled half-way through its re-encryption and
 * started again. After each procedure etcd itself must hold every Secret under the key ARM reports (or in
 * plaintext after disable), the report must be proven with a newer watermark than the previous one, and the
 * article's pipeline must rewrite nothing (no etcd modRevision moves).
 */
import * as fs from 'node:fs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { KeysResult, ProcedureSnapshot, ReportResult, StartResult } from '../../client/output/shapes';
import { RealBackedCluster } from '../../conformance/sandbox-cluster';
import type { ClusterInspection } from '../../sandbox/inspect';
import { type RunningSandbox, startSandbox } from '../../sandbox/sandbox';
import type { ScenarioInput } from '../../sandbox/scenario';
import { waitUntil } from '../helpers/wait';
import { type CliWorld, type ProcessRun, startCliWorld, fastReencryptFlags } from '../lifecycle/cli-world';
import { describeConformance } from './helpers';

const SUBSCRIPTION = '11111111-2222-4333-8444-555555555555';
const CLUSTER = 'aks-life-real';
const VAULT = 'kv-life-real';
const clusterId = `/subscriptions/${SUBSCRIPTION}/resourceGroups/rg-life-real/providers/Microsoft.ContainerService/managedClusters/${CLUSTER}`;

const scenario: ScenarioInput = {
  seed: 35,
  tenantId: '72f988bf-0000-4000-a000-00000000c0de',
  subscriptions: [{ id: SUBSCRIPTION, resourceGroups: [{ name: 'rg-life-real', location: 'eastus' }] }],
  principals: [{ name: 'operator', type: 'User' }],
  operator: 'operator',
  identities: [{ name: 'id-kms' }],
  vaults: [{ name: VAULT, enablePurgeProtection: true, keys: [{ name: 'kms', versions: 3 }] }],
  roleAssignments: [
    { role: 'Key Vault Crypto Officer', principal: 'operator', scope: `vault:${VAULT}` },
    { role: 'Key Vault Crypto User', principal: 'id-kms', scope: `vault:${VAULT}` },
  ],
  clusters: [{ name: CLUSTER, kubernetesVersion: '1.33', identity: 'id-kms' }],
};

const FAST = fastReencryptFlags({ pageSize: 40, concurrency: 8, pollInterval: 0.5 });
const LONG = 420_000;

let sandbox: RunningSandbox;
let real: RealBackedCluster;
let world: CliWorld;
let keys: string[];
let lastWatermark = 0n;

function expectOk(r: ProcessRun, what: string): void {
  if (r.code !== 0)
    throw new Error(
      `${what} exited ${r.code}\n--- stdout\n${r.stdout.slice(-6000)}\n--- stderr\n${r.stderr.slice(-3000)}\n--- worker\n${world.workerLog().slice(-3000)}`,
    );
}

const startAndWatch = (procedure: string, args: string[]) =>
  world.kmsflow(['start', procedure, '--cluster', clusterId, ...args, ...FAST, '--watch', '--interval', '1']);
const status = () => world.kmsflowJson<ProcedureSnapshot>(['status', clusterId], [0, 3, 4]);

/** etcd itself: every Secret readable and under the key ARM reports, or stored in plaintext when KMS is off. */
async function expectEtcdUnderArmKey(): Promise<void> {
  await real.settled();
  const arm = await world.kmsflowJson<ClusterInspection>(['sandbox', 'inspect', '--cluster', CLUSTER]);
  const view = await real.etcdView();
  expect(view.length).toBeGreaterThan(200);
  const want = arm.kms?.enabled ? `kms-v2 ${arm.kms.keyId}` : 'identity';
  const wrong = view.filter(
    (e) =>
      (e.provider.type === 'identity' ? 'identity' : `${e.provider.type} ${e.provider.keyId}`) !== want ||
      !e.readable,
  );
  expect(
    wrong.map((e) => `${e.namespace}/${e.name} ${JSON.stringify(e.provider)} readable=${e.readable}`),
  ).toEqual([]);
}

async function expectProvenAndNewer(): Promise<ReportResult> {
  const report = await world.kmsflowJson<ReportResult>(['report', clusterId], [0, 4, 5]);
  expect({ verdict: report.verdict, notProven: report.reencryptions.flatMap((r) => r.notProven) }).toEqual({
    verdict: 'proven',
    notProven: [],
  });
  for (const r of report.reencryptions) {
    expect(BigInt(r.watermark!)).toBeGreaterThan(lastWatermark);
    expect(r.rewrite.keptDespiteKeyChange).toBe(0);
  }
  lastWatermark = report.reencryptions
    .map((r) => BigInt(r.watermark!))
    .reduce((a, b) => (a > b ? a : b), lastWatermark);
  return report;
}

/** `kubectl get secrets -A -o json | kubectl replace -f -` afterwards: no etcd modRevision moves. */
async function expectSeedPipelineWritesNothing(): Promise<void> {
  const revisions = async () =>
    new Map((await real.cp.storedSecrets()).map((s) => [`${s.namespace}/${s.name}`, s.modRevision]));
  const before = await revisions();
  expectOk(await world.seedPipeline(CLUSTER), 'the seed pipeline');
  const after = await revisions();
  expect([...after].filter(([k, rev]) => before.get(k) !== rev).map(([k]) => k)).toEqual([]);
}

let round = 0;
async function createSecrets(count: number): Promise<void> {
  round += 1;
  const items = Array.from({ length: count }, (_, i) => ({
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: `user-${round}-${i}`, namespace: 'default', labels: { round: String(round) } },
    stringData: { v: `r${round}-${i}-${Math.random().toString(36).slice(2)}` },
  }));
  const file = `${world.dir}/real-round-${round}.json`;
  fs.writeFileSync(file, JSON.stringify({ apiVersion: 'v1', kind: 'List', items }));
  expectOk(await world.kubectl(CLUSTER, ['create', '-f', file]), 'kubectl create');
  if (round > 1)
    expectOk(
      await world.kubectl(CLUSTER, [
        'delete',
        'secret',
        '-n',
        'default',
        '-l',
        `round=${round - 1}`,
        '--wait=false',
      ]),
      'kubectl delete',
    );
}

async function churnWhile(stop: Promise<unknown>): Promise<number> {
  let stopped = false;
  void stop.finally(() => (stopped = true));
  let writes = 0;
  for (let i = 0; !stopped; i++) {
    if (
      (
        await world.kubectl(CLUSTER, [
          'create',
          'secret',
          'generic',
          `during-${round}-${i}`,
          '-n',
          'default',
          `--from-literal=v=${i}`,
        ])
      ).code === 0
    )
      writes++;
  }
  return writes;
}

describeConformance('a cluster life through the CLI on the real kube-apiserver, checked in etcd', () => {
  beforeAll(async () => {
    sandbox = await startSandbox({ scenario, operationDurationMs: 200, propagationDelayMs: 1_000 });
    real = await RealBackedCluster.attach({ sandbox, cluster: CLUSTER, kmsIdentity: 'id-kms' });
    await real.seed({ secrets: 200, namespaces: 4, seed: 11, maxBytes: 4_096 });
    world = await startCliWorld({ sandbox });
    const versions: { id: string; created: number }[] = [];
    for await (const p of sandbox.clients().keys(VAULT).listPropertiesOfKeyVersions('kms'))
      versions.push({ id: p.id!, created: p.createdOn?.getTime() ?? 0 });
    keys = versions.sort((a, b) => a.created - b.created).map((v) => v.id);
  }, 300_000);

  afterAll(async () => {
    await world?.teardown();
    await real?.stop();
    await sandbox?.close();
  });

  it(
    'enable: etcd holds every Secret under version 1',
    async () => {
      expectOk(await startAndWatch('enable', ['--key-id', keys[0]!]), 'enable');
      await expectEtcdUnderArmKey();
      await expectProvenAndNewer();
      await expectSeedPipelineWritesNothing();
    },
    LONG,
  );

  it(
    'rotate after kubectl wrote Secrets, with kubectl writing during it: etcd holds every Secret under version 2',
    async () => {
      await createSecrets(100);
      const watch = startAndWatch('rotate', ['--key-id', keys[1]!]);
      expect(await churnWhile(watch)).toBeGreaterThan(0);
      expectOk(await watch, 'rotate');
      await expectEtcdUnderArmKey();
      const report = await expectProvenAndNewer();
      expect(report.reencryptions.at(-1)!.rewrite.counts.rewritten).toBeGreaterThanOrEqual(300);
      await expectSeedPipelineWritesNothing();
    },
    LONG,
  );

  it(
    'a rotation cancelled half-way through its re-encryption, then started again: etcd holds every Secret under version 3',
    async () => {
      await createSecrets(40);
      // Slow and small pages, so the cancel lands while the rewrite pass still has most of its pages ahead.
      const slow = [...FAST, '--page-size', '20', '--max-qps', '8'];
      const started = await world.kmsflowJson<StartResult>([
        'start',
        'rotate',
        '--cluster',
        clusterId,
        '--key-id',
        keys[2]!,
        ...slow,
      ]);
      await waitUntil(
        status,
        (s) =>
          s.currentStep === 'reencrypt' &&
          (s.steps.find((x) => x.id === 'reencrypt')?.progress?.done ?? 0) >= 40,
        {
          what: 'the re-encryption half-way',
          timeoutMs: 240_000,
          intervalMs: 500,
        },
      );
      expectOk(await world.kmsflow(['cancel', clusterId, '--reason', 'change window closed']), 'cancel');
      expect(
        (await waitUntil(status, (s) => s.status !== 'running', { what: 'the cancel', timeoutMs: 120_000 }))
          .status,
      ).toBe('cancelled');
      expect((await world.kmsflowJson<KeysResult>(['keys', clusterId])).lastReencryption).toMatchObject({
        status: 'started',
        runId: started.runId,
      });
      // The cancel stopped the re-encryption where it was (it continues as new every few pages, and a cancel
      // must reach the run that is current): part of the Secrets are under version 3, the rest under version 2.
      await real.settled();
      const mixed = new Set(
        (await real.etcdView()).map((e) => (e.provider.type === 'identity' ? 'identity' : e.provider.keyId)),
      );
      expect([...mixed].sort()).toEqual([keys[1]!, keys[2]!].sort());

      expectOk(await startAndWatch('rotate', ['--key-id', keys[2]!]), 'rotate again');
      await expectEtcdUnderArmKey();
      await expectProvenAndNewer();
      await expectSeedPipelineWritesNothing();
    },
    LONG,
  );

  it(
    'disable, then enable again: plaintext in etcd, then every Secret under version 3',
    async () => {
      await createSecrets(20);
      expectOk(await startAndWatch('disable', ['--approve', 'all']), 'disable');
      await expectEtcdUnderArmKey();
      await expectProvenAndNewer();
      await createSecrets(20);
      expectOk(await startAndWatch('enable', ['--key-id', keys[2]!]), 'enable again');
      await expectEtcdUnderArmKey();
      await expectProvenAndNewer();
      await expectSeedPipelineWritesNothing();
      const history = await world.kmsflowJson<KeysResult>(['keys', clusterId]);
      expect(history.procedures.map((p) => [p.procedure, p.proof])).toEqual([
        ['enable-kms', 'proven'],
        ['disable-kms', 'proven'],
        ['rotate-key', 'proven'],
        ['rotate-key', 'unfinished'],
        ['rotate-key', 'proven'],
        ['enable-kms', 'proven'],
      ]);
    },
    LONG,
  );

  // Not a procedure, but the same real API server: the worker's deploy manifests pass its full validation
  // (OpenAPI schema, strict fields) as a server-side dry run. Only the namespace is really created.
  it("deploy/kubernetes/worker.yaml passes the real API server's validation (server-side dry run)", async () => {
    expectOk(await world.kubectl(CLUSTER, ['create', 'namespace', 'kmsflow']), 'kubectl create namespace');
    const dryRun = await world.kubectl(CLUSTER, [
      'apply',
      '--dry-run=server',
      '--validate=strict',
      '-f',
      'deploy/kubernetes/worker.yaml',
    ]);
    expectOk(dryRun, 'kubectl apply --dry-run=server');
    expect(dryRun.stdout).toMatch(/deployment\.apps\/kmsflow-worker created \(server dry run\)/);
    expect(dryRun.stdout).toMatch(/poddisruptionbudget\.policy\/kmsflow-worker created \(server dry run\)/);
  });
});
