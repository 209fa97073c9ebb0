// Keys and vaults shared across clusters, through the CLI: real `kmsflow` and `kubectl` processes on a
// sandbox estate where aks-b and aks-h (subscription A) share vault kv-shared and its key `shared`, and aks-x
// (subscription B) uses the same version. A change that is safe for the cluster it targets but would break
// another one is refused before it changes anything: `plan` names the finding and the other cluster (exit 2),
// `start` ends blocked at its preflight step with the same code, the sandbox's operation log records no change
// and ARM's view, Key Vault and the etcd view are as they were, and every cluster's API server, restarted as
// AKS's next control-plane roll would, passes `/readyz` with every Secret readable. The allowed variants run to
// proof, with the same checks on every cluster afterwards.
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type {
  FindingView,
  KeysResult,
  PlanResult,
  ProcedureSnapshot,
  ReportResult,
} from '../../client/output/shapes';
import type { OperationLogEntry } from '../../sandbox/contracts';
import type { ClusterInspection, SandboxOverview } from '../../sandbox/inspect';
import { adminCall } from '../../sandbox/main';
import type { ScenarioInput } from '../../sandbox/scenario';
import type { CampaignProgress } from '../../workflows/campaign-messages';
import { waitUntil } from '../helpers/wait';
import { isCredentialListing } from '../reliability/oplog-checks';
import { type CliWorld, type ProcessRun, startCliWorld, fastReencryptFlags } from './cli-world';

const SUB_A = '11111111-2222-4333-8444-555555555555';
const SUB_B = '22222222-3333-4444-8555-666666666666';
const GROUP_A = 'rg-shared';
const GROUP_B = 'rg-remote';
const SHARED = 'kv-shared';
const OTHER = 'kv-other';
const CLUSTERS = ['aks-b', 'aks-h', 'aks-x'] as const;
type Cluster = (typeof CLUSTERS)[number];
const SECRETS = 24;

const scenario: ScenarioInput = {
  seed: 26,
  tenantId: '72f988bf-0000-4000-a000-00000000c0de',
  subscriptions: [
    { id: SUB_A, resourceGroups: [{ name: GROUP_A, location: 'eastus' }] },
    { id: SUB_B, resourceGroups: [{ name: GROUP_B, location: 'eastus' }] },
  ],
  principals: [{ name: 'operator', type: 'User' }],
  operator: 'operator',
  identities: [{ name: 'id-kms' }, { name: 'id-remote', subscription: SUB_B, resourceGroup: GROUP_B }],
  vaults: [
    { name: SHARED, enablePurgeProtection: true, keys: [{ name: 'shared', versions: 2 }] },
    { name: OTHER, enablePurgeProtection: true, keys: [{ name: 'own', versions: 1 }] },
  ],
  roleAssignments: [
    ...[SHARED, OTHER].flatMap((vault) => [
      { role: 'Key Vault Crypto Officer', principal: 'operator', scope: `vault:${vault}` },
      { role: 'Key Vault Crypto User', principal: 'id-kms', scope: `vault:${vault}` },
      { role: 'Key Vault Contributor', principal: 'id-kms', scope: `vault:${vault}` },
    ]),
    { role: 'Key Vault Crypto User', principal: 'id-remote', scope: `vault:${SHARED}` },
  ],
  clusters: CLUSTERS.map((name, i) => ({
    name,
    kubernetesVersion: '1.29',
    apiServerVnetIntegration: true,
    ...(name === 'aks-x'
      ? { subscription: SUB_B, resourceGroup: GROUP_B, identity: 'id-remote' }
      : { identity: 'id-kms' }),
    kms: { vault: SHARED, key: 'shared', version: 1, networkAccess: 'Public' as const },
    secrets: { count: SECRETS, namespaces: 2, seed: 60 + i, maxBytes: 1024 },
  })),
};

const FAST = fastReencryptFlags();
/** A test that runs whole procedures through the CLI on a loaded 2-core machine. */
const LONG = 180_000;

let world: CliWorld;
let port: string;
const keyIds: Record<string, string[]> = {};
/** Each cluster's API server URL path prefix: the sandbox serves every cluster under its own. */
const apiPrefix: Partial<Record<Cluster, string>> = {};
const kubeconfigs: Partial<Record<Cluster, string>> = {};

/** `kubectl ARGS` as a process, with the kubeconfig `kmsflow sandbox kubeconfig` wrote for the cluster. */
function kubectl(cluster: Cluster, args: string[]): Promise<ProcessRun> {
  return new Promise((resolve) => {
    execFile(
      'kubectl',
      args,
      { env: { PATH: process.env.PATH, HOME: process.env.HOME, KUBECONFIG: kubeconfigs[cluster] } },
      (err, stdout, stderr) =>
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }),
    );
  });
}

const clusterId = (name: Cluster) =>
  name === 'aks-x'
    ? `/subscriptions/${SUB_B}/resourceGroups/${GROUP_B}/providers/Microsoft.ContainerService/managedClusters/${name}`
    : `/subscriptions/${SUB_A}/resourceGroups/${GROUP_A}/providers/Microsoft.ContainerService/managedClusters/${name}`;
const vaultId = (vault: string) =>
  `/subscriptions/${SUB_A}/resourceGroups/${GROUP_A}/providers/Microsoft.KeyVault/vaults/${vault}`;
const lower = (ids: (string | null | undefined)[]) => ids.map((k) => k?.toLowerCase() ?? null);

function expectOk(r: ProcessRun, what: string): ProcessRun {
  if (r.code !== 0)
    throw new Error(
      `${what} exited ${r.code}\n--- stdout\n${r.stdout.slice(-6000)}\n--- stderr\n${r.stderr.slice(-3000)}\n--- worker log\n${world.workerLog().slice(-3000)}`,
    );
  return r;
}

/**
 * The sandbox's own view, read from its admin endpoint: what `kmsflow sandbox inspect [--cluster NAME --entries]
 * --json` prints, without a process per look (a refusal is checked against several looks at every cluster).
 */
const admin = <T>(route: string) => adminCall<T>({ envFile: world.envFile }, 'GET', route);
const overview = () => admin<SandboxOverview>('/state');
const inspect = (cluster: Cluster) =>
  admin<ClusterInspection>(`/clusters/${encodeURIComponent(cluster)}?entries=1`);

async function loadKeyIds(): Promise<void> {
  for (const vault of (await overview()).vaults)
    for (const key of vault.keys)
      keyIds[key.name] = key.versions.map(
        (v) => `https://${vault.name}.vault.azure.net:${port}/keys/${key.name}/${v.version}`,
      );
}

/** Whether a key version is enabled, as the sandbox's Key Vault holds it. */
async function versionEnabled(keyId: string): Promise<boolean> {
  const [, vault, , key, version] = /^https:\/\/([^.]+)\.[^/]+\/(keys)\/([^/]+)\/([^/]+)$/.exec(keyId)!;
  const found = (await overview()).vaults
    .find((v) => v.name === vault)
    ?.keys.find((k) => k.name === key)
    ?.versions.find((v) => v.version === version);
  if (!found) throw new Error(`no key version ${keyId} in the sandbox`);
  return found.enabled;
}

/** Every mutating call the sandbox recorded (ARM, Key Vault, Kubernetes), credential listings left out. */
async function changes(afterSeq = 0): Promise<OperationLogEntry[]> {
  const { entries } = await admin<{ entries: OperationLogEntry[] }>(`/oplog?afterSeq=${afterSeq}`);
  return entries.filter((e) => !isCredentialListing(e));
}

async function lastSeq(): Promise<number> {
  const { entries } = await admin<{ entries: OperationLogEntry[] }>('/oplog');
  return entries.at(-1)?.seq ?? 0;
}

/** What a refusal must leave as it was: ARM's KMS profile and key slots, and every Secret's etcd entry. */
interface EstateView {
  seq: number;
  clusters: Record<string, unknown>;
  vaults: SandboxOverview['vaults'];
}

async function estateView(): Promise<EstateView> {
  const seq = await lastSeq();
  const clusters: Record<string, unknown> = {};
  for (const name of CLUSTERS) {
    const view = await inspect(name);
    clusters[name] = {
      provisioningState: view.provisioningState,
      kms: view.kms,
      keySlots: view.keySlots,
      encryption: view.encryption,
      etcd: (view.etcdEntries ?? []).map((e) => [
        `${e.namespace}/${e.name}`,
        e.resourceVersion,
        e.provider,
        e.readable,
      ]),
    };
  }
  return { seq, clusters, vaults: (await overview()).vaults };
}

/** Nothing changed since `before`: no mutating call in the operation log, ARM, Key Vault and etcd as they were. */
async function expectNothingChanged(before: EstateView): Promise<void> {
  expect((await changes(before.seq)).map((e) => `#${e.seq} ${e.method} ${e.path} (${e.status})`)).toEqual([]);
  const after = await estateView();
  expect(after.clusters).toEqual(before.clusters);
  expect(after.vaults).toEqual(before.vaults);
}

/**
 * Every cluster as AKS would show it after its next control-plane roll: its API server restarted (the KMS
 * caches start over, so a key the plugin can no longer use shows at once), then `kubectl get --raw
 * <prefix>/readyz?verbose` passes with kms-providers ok, and every Secret is readable in the etcd view.
 */
async function expectEstateHealthy(): Promise<Record<Cluster, ClusterInspection>> {
  const views = {} as Record<Cluster, ClusterInspection>;
  for (const name of CLUSTERS) {
    await adminCall({ envFile: world.envFile }, 'POST', `/clusters/${name}/restart-apiserver`);
    const r = await kubectl(name, ['get', '--raw', `${apiPrefix[name]}/readyz?verbose`]);
    const lines = `${r.stdout}\n${r.stderr}`.split(/\n|\\n/);
    expect({ cluster: name, code: r.code, failing: lines.filter((l) => l.startsWith('[-]')) }).toEqual({
      cluster: name,
      code: 0,
      failing: [],
    });
    expect(r.stdout).toMatch(/\[\+\]kms-providers ok/);
    expect(r.stdout).toMatch(/readyz check passed/);
    const view = await inspect(name);
    const entries = view.etcdEntries ?? [];
    expect(entries.length).toBeGreaterThanOrEqual(SECRETS);
    expect({ cluster: name, unreadable: entries.filter((e) => !e.readable).map((e) => e.name) }).toEqual({
      cluster: name,
      unreadable: [],
    });
    views[name] = view;
  }
  return views;
}

/** `kmsflow plan PROCEDURE --cluster … ARGS --json`, expecting exit `code`. */
async function plan(cluster: Cluster, procedure: string, args: string[], code: 0 | 2): Promise<PlanResult> {
  const result = await world.kmsflowJson<PlanResult>(
    ['plan', procedure, '--cluster', clusterId(cluster), ...args],
    code,
  );
  expect(result.ok).toBe(code === 0);
  return result;
}

const withCode = (p: PlanResult, code: string): FindingView[] => p.findings.filter((f) => f.code === code);
const errorCodes = (p: PlanResult) =>
  [...new Set(p.findings.filter((f) => f.severity === 'error').map((f) => f.code))].sort();

const status = (cluster: Cluster) =>
  world.kmsflowJson<ProcedureSnapshot>(['status', clusterId(cluster)], [0, 3, 4]);

/**
 * `kmsflow start PROCEDURE … --watch --exit-on-wait`: the procedure must end blocked at its preflight step
 * (exit 3) with `code`. Returns the blocked step; the blocked run is then cancelled, which frees the cluster.
 */
async function expectStartRefused(
  cluster: Cluster,
  procedure: string,
  args: string[],
  code: string,
): Promise<NonNullable<ProcedureSnapshot['steps'][number]['blocked']>> {
  const r = await world.kmsflow([
    'start',
    procedure,
    '--cluster',
    clusterId(cluster),
    ...args,
    ...FAST,
    '--approve',
    'all',
    '--watch',
    '--exit-on-wait',
    '--interval',
    '0.3',
  ]);
  const snapshot = await status(cluster);
  expect(
    { exit: r.code, phase: snapshot.phase, step: snapshot.currentStep },
    `${r.stdout.slice(-3000)}\n${r.stderr.slice(-2000)}`,
  ).toEqual({ exit: 3, phase: 'blocked', step: 'preflight' });
  const preflight = snapshot.steps.find((s) => s.id === 'preflight')!;
  expect(preflight.blocked?.code).toBe(code);
  // Every later step is still pending: nothing ran past the refusal.
  expect(snapshot.steps.filter((s) => s.id !== 'preflight' && s.status !== 'pending')).toEqual([]);
  expectOk(
    await world.kmsflow(['cancel', clusterId(cluster), '--reason', 'refused by preflight']),
    'kmsflow cancel',
  );
  await waitUntil(
    () => status(cluster),
    (s) => s.status !== 'running',
    { what: 'the cancel', timeoutMs: 60_000 },
  );
  return preflight.blocked!;
}

/** `kmsflow start PROCEDURE --cluster ID ARGS --watch`: the procedure's outcome is the exit code. */
async function startAndWatch(cluster: Cluster, procedure: string, args: string[]): Promise<ProcessRun> {
  return world.kmsflow([
    'start',
    procedure,
    '--cluster',
    clusterId(cluster),
    ...args,
    ...FAST,
    '--watch',
    '--interval',
    '0.5',
  ]);
}

async function expectProven(cluster: Cluster): Promise<ReportResult> {
  const report = await world.kmsflowJson<ReportResult>(['report', clusterId(cluster)], [0, 4, 5]);
  expect({ verdict: report.verdict, notProven: report.reencryptions.flatMap((r) => r.notProven) }).toEqual({
    verdict: 'proven',
    notProven: [],
  });
  return report;
}

const keys = (cluster: Cluster) => world.kmsflowJson<KeysResult>(['keys', clusterId(cluster)]);

beforeAll(async () => {
  world = await startCliWorld({ scenario });
  const envText = fs.readFileSync(world.envFile, 'utf8');
  port = /KMSFLOW_SANDBOX_PORT=(\d+)/.exec(envText)![1]!;
  await loadKeyIds();
  // `kmsflow sandbox kubeconfig` finds a cluster in the env file's subscription only: aks-x's kubeconfig comes
  // through an env file that names subscription B.
  const envB = path.join(world.dir, 'sandbox-b.env');
  fs.writeFileSync(envB, envText.replace(/^AZURE_SUBSCRIPTION_ID=.*$/m, `AZURE_SUBSCRIPTION_ID=${SUB_B}`));
  for (const name of CLUSTERS) {
    const file = path.join(world.dir, `${name}.own.kubeconfig`);
    expectOk(
      await world.kmsflow([
        'sandbox',
        'kubeconfig',
        '--cluster',
        name,
        '--file',
        file,
        '--sandbox-env',
        name === 'aks-x' ? envB : world.envFile,
      ]),
      `kmsflow sandbox kubeconfig --cluster ${name}`,
    );
    kubeconfigs[name] = file;
    const server = expectOk(
      await kubectl(name, ['config', 'view', '--minify', '-o', 'jsonpath={.clusters[0].cluster.server}']),
      'kubectl config view',
    ).stdout.trim();
    apiPrefix[name] = new URL(server).pathname.replace(/\/$/, '');
  }
}, 180_000);

afterAll(async () => {
  await world?.teardown();
});

describe('a shared vault and key: every change is checked against every cluster that depends on it', () => {
  it(
    'aks-b rotates v1 → v2, proven; v1 stays in its previous slot and every cluster stays ready',
    async () => {
      const [v1, v2] = keyIds.shared!;
      expectOk(await startAndWatch('aks-b', 'rotate', ['--key-id', v2!]), 'start rotate aks-b');
      await expectProven('aks-b');
      const ledger = await keys('aks-b');
      expect(lower([ledger.slots.current, ledger.slots.previous])).toEqual(lower([v2, v1]));
      const views = await expectEstateHealthy();
      expect(lower([views['aks-b'].keySlots.current, views['aks-b'].keySlots.previous])).toEqual(
        lower([v2, v1]),
      );
    },
    LONG,
  );

  it(
    'retire on aks-h (current v1) is refused: KeyHeldByOtherCluster names aks-b, and aks-x once subscription B is in scope; nothing changes',
    async () => {
      const [v1] = keyIds.shared!;
      const before = await estateView();

      // Subscription A only (the cluster's and the vault's): aks-b holds v1 in its previous slot; aks-x is not seen.
      const inA = await plan('aks-h', 'retire', [], 2);
      expect(errorCodes(inA)).toEqual(['KeyHeldByOtherCluster']);
      const heldInA = withCode(inA, 'KeyHeldByOtherCluster');
      expect(heldInA).toHaveLength(1);
      expect(heldInA[0]!.message).toMatch(/Cluster aks-b still depends on .*previous key slot/);
      expect(heldInA[0]!.message).toContain(v1);
      expect(heldInA[0]!.fix).toMatch(/aks-b/);
      expect(inA.findings.map((f) => f.message).join('\n')).not.toMatch(/aks-x/);

      // Subscription B in scope: aks-x, which holds v1 in its current slot, is named too.
      const inAB = await plan('aks-h', 'retire', ['--estate-subscription', SUB_B], 2);
      expect(errorCodes(inAB)).toEqual(['KeyHeldByOtherCluster']);
      const heldInAB = withCode(inAB, 'KeyHeldByOtherCluster').map((f) => f.message);
      expect(heldInAB).toHaveLength(2);
      expect(heldInAB.find((m) => /Cluster aks-b /.test(m))).toMatch(/previous key slot/);
      expect(heldInAB.find((m) => /Cluster aks-x /.test(m))).toMatch(
        new RegExp(`aks-x \\(subscription ${SUB_B}\\) still depends on .*current key slot`),
      );

      // Vouching for aks-x's unknown previous slot does not make v1 free: aks-b still holds it (and aks-x's
      // current slot is ARM's word, not a guess).
      const vouched = await plan(
        'aks-h',
        'retire',
        ['--estate-subscription', SUB_B, '--assume-unused', 'aks-x'],
        2,
      );
      expect(errorCodes(vouched)).toEqual(['KeyHeldByOtherCluster']);
      expect(withCode(vouched, 'KeyHeldByOtherCluster').map((f) => f.message)).toEqual(
        expect.arrayContaining([expect.stringMatching(/Cluster aks-b still depends on .*previous key slot/)]),
      );

      // `start` ends blocked at its preflight step with the same code, naming both clusters.
      const blocked = await expectStartRefused(
        'aks-h',
        'retire',
        ['--estate-subscription', SUB_B, '--assume-unused', 'aks-x'],
        'KeyHeldByOtherCluster',
      );
      expect(blocked.message).toMatch(/Cluster aks-b still depends on/);
      expect(blocked.message).toMatch(/Cluster aks-x \(subscription [0-9a-f-]+\) still depends on/);

      await expectNothingChanged(before);
      expect(await versionEnabled(v1!)).toBe(true);
      await expectEstateHealthy();
    },
    LONG,
  );

  it(
    'a subscription in scope that cannot be read: EstateUnverified; --accept-unverified makes it a warning and the refusal for aks-b holds',
    async () => {
      const before = await estateView();
      const fault = JSON.stringify({
        service: 'arm',
        method: 'GET',
        path: `^/subscriptions/${SUB_B}/providers/Microsoft\\.ContainerService/managed[Cc]lusters$`,
        action: { kind: 'error', status: 403, code: 'AuthorizationFailed', message: 'no Reader here' },
      });
      expectOk(await world.kmsflow(['sandbox', 'faults', 'add', fault]), 'faults add');
      try {
        const unread = await plan('aks-h', 'retire', ['--estate-subscription', SUB_B], 2);
        expect(errorCodes(unread)).toEqual(['EstateUnverified', 'KeyHeldByOtherCluster']);
        expect(withCode(unread, 'EstateUnverified')[0]!.message).toMatch(
          new RegExp(`Cannot verify the clusters of subscription ${SUB_B}: .*403`),
        );
        expect(withCode(unread, 'KeyHeldByOtherCluster').map((f) => f.message)).toEqual([
          expect.stringMatching(/Cluster aks-b still depends on/),
        ]);

        const accepted = await plan(
          'aks-h',
          'retire',
          ['--estate-subscription', SUB_B, '--accept-unverified'],
          2,
        );
        expect(withCode(accepted, 'EstateUnverified').map((f) => f.severity)).toEqual(['warning']);
        expect(errorCodes(accepted)).toEqual(['KeyHeldByOtherCluster']);
        expect(withCode(accepted, 'KeyHeldByOtherCluster').map((f) => f.message)).toEqual([
          expect.stringMatching(/Cluster aks-b still depends on/),
        ]);
      } finally {
        expectOk(await world.kmsflow(['sandbox', 'faults', 'clear']), 'faults clear');
      }
      await expectNothingChanged(before);
    },
    LONG,
  );

  it(
    'switch-mode Private on aks-h with the shared vault is refused: VaultInPublicUse names aks-b (and aks-x with B in scope); nothing changes',
    async () => {
      const before = await estateView();
      const args = ['--mode', 'Private', '--vault-id', vaultId(SHARED)];
      const inA = await plan('aks-h', 'switch-mode', args, 2);
      expect(errorCodes(inA)).toEqual(['VaultInPublicUse']);
      const [finding] = withCode(inA, 'VaultInPublicUse');
      expect(finding!.message).toMatch(new RegExp(`Key vault ${SHARED} is used in Public mode by aks-b[:,]`));
      expect(finding!.message).not.toMatch(/aks-x/);

      const inAB = await plan('aks-h', 'switch-mode', [...args, '--estate-subscription', SUB_B], 2);
      expect(withCode(inAB, 'VaultInPublicUse')[0]!.message).toMatch(
        /used in Public mode by aks-b, aks-x \(subscription [0-9a-f-]+\)/,
      );

      const blocked = await expectStartRefused(
        'aks-h',
        'switch-mode',
        [...args, '--estate-subscription', SUB_B],
        'VaultInPublicUse',
      );
      expect(blocked.message).toMatch(/aks-b/);
      expect(blocked.message).toMatch(/aks-x/);

      await expectNothingChanged(before);
      const vault = (await overview()).vaults.find((v) => v.name === SHARED)!;
      expect(vault.publicNetworkAccess).toBe('Enabled');
      await expectEstateHealthy();
    },
    LONG,
  );

  it(
    'allowed: aks-h moves to a key of its own vault in Private mode, one rotation, proven; every cluster ready and every Secret readable',
    async () => {
      const [v1] = keyIds.shared!;
      const [own] = keyIds.own!;
      const args = ['--key-id', own!, '--mode', 'Private', '--vault-id', vaultId(OTHER)];
      const planned = await plan('aks-h', 'rotate', [...args, '--estate-subscription', SUB_B], 0);
      expect(errorCodes(planned)).toEqual([]);
      expectOk(
        await startAndWatch('aks-h', 'rotate', [...args, '--estate-subscription', SUB_B]),
        'start rotate aks-h',
      );
      await expectProven('aks-h');
      const views = await expectEstateHealthy();
      expect(views['aks-h'].kms).toMatchObject({
        keyVaultNetworkAccess: 'Private',
        keyVaultResourceId: vaultId(OTHER),
      });
      expect(lower([views['aks-h'].keySlots.current, views['aks-h'].keySlots.previous])).toEqual(
        lower([own, v1]),
      );
      expect(
        views['aks-h'].etcdEntries!.filter(
          (e) => e.provider.type === 'identity' || e.provider.keyId.toLowerCase() !== own!.toLowerCase(),
        ),
      ).toEqual([]);
      // The shared vault and the other clusters were left as they were.
      expect((await overview()).vaults.find((v) => v.name === SHARED)!.publicNetworkAccess).toBe('Enabled');
      expect(views['aks-x'].keySlots.current?.toLowerCase()).toBe(v1!.toLowerCase());
      expect(views['aks-b'].kms?.keyVaultNetworkAccess).toBe('Public');
      expect(await versionEnabled(v1!)).toBe(true);
    },
    LONG,
  );

  it(
    "switch-mode Public on aks-h with a vault that is not its key's is refused: KeyNotInVault; nothing changes",
    async () => {
      // aks-h now runs in Private mode on kv-other (in Public mode SameMode would refuse any switch to Public);
      // the vault given is the shared one, which does not hold aks-h's key.
      const [own] = keyIds.own!;
      const before = await estateView();
      const args = ['--mode', 'Public', '--vault-id', vaultId(SHARED)];
      const planned = await plan('aks-h', 'switch-mode', args, 2);
      expect(errorCodes(planned)).toEqual(['KeyNotInVault']);
      const [finding] = withCode(planned, 'KeyNotInVault');
      expect(finding!.message).toBe(`Key ${own} is in vault ${OTHER}, not in ${SHARED} (--vault-id).`);

      const blocked = await expectStartRefused('aks-h', 'switch-mode', args, 'KeyNotInVault');
      expect(blocked.message).toContain(`is in vault ${OTHER}, not in ${SHARED}`);

      await expectNothingChanged(before);
      await expectEstateHealthy();
    },
    LONG,
  );

  it(
    "retire on aks-b (current v2) is refused while aks-x's previous slot is unknown (PreviousSlotUnknown); --assume-unused aks-x lets it run, recorded, and v2 is disabled with every cluster ready",
    async () => {
      const [v1, v2] = keyIds.shared!;
      const before = await estateView();
      const refused = await plan('aks-b', 'retire', ['--estate-subscription', SUB_B], 2);
      expect(errorCodes(refused)).toEqual(['PreviousSlotUnknown']);
      const unknown = withCode(refused, 'PreviousSlotUnknown');
      expect(unknown.map((f) => f.message)).toEqual([
        expect.stringMatching(/Cannot verify that cluster aks-x \(subscription [0-9a-f-]+\) no longer needs/),
      ]);
      expect(unknown[0]!.fix).toMatch(/--assume-unused aks-x/);
      // aks-h's previous slot is known now (v1, from its rotation), and v2 is in neither of its slots.
      expect(refused.findings.map((f) => f.message).join('\n')).not.toMatch(/aks-h/);
      await expectStartRefused('aks-b', 'retire', ['--estate-subscription', SUB_B], 'PreviousSlotUnknown');
      await expectNothingChanged(before);

      const vouched = ['--estate-subscription', SUB_B, '--assume-unused', 'aks-x'];
      const allowed = await plan('aks-b', 'retire', vouched, 0);
      expect(withCode(allowed, 'PreviousSlotUnknown')).toEqual([
        expect.objectContaining({ severity: 'warning', message: expect.stringMatching(/aks-x/) }),
      ]);
      expectOk(
        await startAndWatch('aks-b', 'retire', [...vouched, '--approve', 'all']),
        'start retire aks-b',
      );
      const done = await status('aks-b');
      expect(done.steps.find((s) => s.id === 'preflight')?.detail).toMatch(
        /overridden by the operator: assume-unused aks-x/,
      );
      await expectProven('aks-b');
      expect(await versionEnabled(v2!)).toBe(false);
      expect(await versionEnabled(v1!)).toBe(true);
      const ledger = await keys('aks-b');
      expect(ledger.keys.find((k) => k.keyId.toLowerCase() === v2!.toLowerCase())?.state).toBe('retired');
      await expectEstateHealthy();
    },
    LONG,
  );

  it('campaign start retire-version: every cluster holding v1 is rotated off it and proven (aks-x, on it now, twice), then v1 is disabled once and every cluster is ready', async () => {
    const [v1] = keyIds.shared!;
    const before = await lastSeq();
    const started = await world.kmsflowJson<{ campaignId: string }>([
      'campaign',
      'start',
      'retire-version',
      '--key-id',
      v1!,
      '--subscription',
      SUB_A,
      '--subscription',
      SUB_B,
      '--stage',
      'all concurrency=2',
      '--auto-approve',
      '--id',
      'retire-v1',
      ...FAST,
    ]);
    expect(started.campaignId).toBe('retire-v1');
    const progress = () =>
      world.kmsflowJson<CampaignProgress>(['campaign', 'status', 'retire-v1'], [0, 3, 4]);
    // Both rounds run; the version is retired only after the retire stage's approval, named.
    const waiting = await waitUntil(progress, (p) => p.phase === 'waiting-approval' || !!p.endedAt, {
      what: 'retire-v1 at its retire approval',
      timeoutMs: 300_000,
      intervalMs: 1000,
    });
    expect(waiting.phase, waiting.haltReason).toBe('waiting-approval');
    expect(waiting.stages.map((s) => s.name)).toEqual(['retire-v1-round-1', 'retire-v1-round-2', 'retire']);
    expect(await versionEnabled(v1!)).toBe(true);
    // The retirement is approved by naming it: neither another stage name nor none at all passes its gate.
    for (const [args, says] of [
      [['all'], 'Only the stage "retire" of retire-v1 waits here'],
      [[], 'stage "retire" waits for approval before it starts'],
    ] as const) {
      const refused = await world.kmsflow(['campaign', 'approve', 'retire-v1', ...args, '--as', 'alice']);
      expect(refused.code, refused.stdout).toBe(2);
      expect(refused.stderr).toContain(says);
    }
    expect(await versionEnabled(v1!)).toBe(true);
    expectOk(
      await world.kmsflow(['campaign', 'approve', 'retire-v1', 'retire', '--as', 'alice']),
      'campaign approve retire',
    );
    const done = await waitUntil(progress, (p) => !!p.endedAt, {
      what: 'retire-v1 to end',
      timeoutMs: 120_000,
      intervalMs: 1000,
    });
    expect({ phase: done.phase, reason: done.haltReason }).toEqual({ phase: 'completed', reason: undefined });
    expect(Object.fromEntries(done.clusters.map((c) => [c.name, [c.stage, c.status]]))).toEqual({
      'aks-h': ['retire-v1-round-1', 'proven'],
      'aks-x': ['retire-v1-round-2', 'proven'],
    });
    expect(done.stages.at(-1)).toMatchObject({ name: 'retire', status: 'done', approvedBy: 'alice' });
    expect(await versionEnabled(v1!)).toBe(false);
    // Disabled once: one Key Vault write to v1's attributes in the whole campaign.
    const version = v1!.split('/').pop()!;
    const writesToV1 = (await changes(before)).filter(
      (e) => e.service === 'keyvault' && e.path.endsWith(`/keys/shared/${version}`),
    );
    expect(writesToV1.map((e) => `${e.method} ${e.status}`)).toEqual(['PATCH 200']);
    const views = await expectEstateHealthy();
    for (const name of CLUSTERS)
      expect(lower([views[name].keySlots?.current, views[name].keySlots?.previous])).not.toContain(
        v1!.toLowerCase(),
      );
  }, 420_000);
});
