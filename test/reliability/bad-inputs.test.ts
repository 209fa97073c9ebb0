// Bad inputs, through the kmsflow CLI and through the procedures themselves: each is refused with one clear
// sentence naming the fix, before anything changes (the sandbox's operation log shows no mutation).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ErrorShape, PlanResult } from '../../client/output/shapes';
import { keyId as storedKeyId } from '../../sandbox/keyvault/keys';
import type { ScenarioInput } from '../../sandbox/scenario';
import { activitySource, buildActivities } from '../../worker/activities-from-env';
import { createKmsflowWorker } from '../../worker/create-worker';
import {
  cancelUpdate,
  type ProcedureProgress,
  procedureWorkflowId,
  progressQuery,
  TASK_QUEUE,
} from '../../workflows/messages';
import { parseJson, runCli } from '../client/cli-harness';
import { type KmsflowTestEnv, startKmsflowEnv } from '../helpers/kmsflow-env';
import { waitUntil } from '../helpers/wait';
import { changesSince } from './oplog-checks';
import { recordFigure } from './figures';

const FOREIGN_TENANT = '0b0b0b0b-0000-4000-a000-00000000f0e1';
const PAST = '2024-01-01T00:00:00Z';

const scenario: ScenarioInput = {
  seed: 81,
  tenantId: '72f988bf-0000-4000-a000-00000000c0de',
  subscriptions: [
    { id: '11111111-2222-4333-8444-555555555555', resourceGroups: [{ name: 'rg-bad', location: 'eastus' }] },
    {
      id: '22222222-3333-4444-8555-666666666666',
      tenantId: FOREIGN_TENANT,
      resourceGroups: [{ name: 'rg-other', location: 'eastus' }],
    },
  ],
  principals: [{ name: 'operator', type: 'User' }],
  operator: 'operator',
  identities: [{ name: 'id-kms' }, { name: 'id-bare' }, { name: 'id-gone' }],
  vaults: [
    {
      name: 'kv-bad',
      keys: [
        { name: 'kms', versions: 2 },
        { name: 'ec', kty: 'EC' },
        { name: 'off', versions: [{ enabled: false }] },
        { name: 'old', versions: [{ expiresOn: PAST }] },
      ],
    },
    {
      name: 'kv-wall',
      networkAcls: { defaultAction: 'Deny', bypass: 'AzureServices', ipRules: [] },
      keys: [{ name: 'kms' }],
    },
    {
      name: 'kv-walled-private',
      publicNetworkAccess: 'Disabled',
      networkAcls: { defaultAction: 'Deny', bypass: 'AzureServices', ipRules: [] },
      keys: [{ name: 'kms' }],
    },
    {
      name: 'kv-foreign',
      subscription: '22222222-3333-4444-8555-666666666666',
      resourceGroup: 'rg-other',
      keys: [{ name: 'kms' }],
    },
  ],
  roleAssignments: [
    ...['kv-bad', 'kv-wall', 'kv-walled-private', 'kv-foreign'].flatMap((vault) => [
      { role: 'Key Vault Crypto Officer', principal: 'operator', scope: `vault:${vault}` },
      { role: 'Key Vault Crypto User', principal: 'id-kms', scope: `vault:${vault}` },
      { role: 'Key Vault Crypto User', principal: 'id-gone', scope: `vault:${vault}` },
    ]),
    { role: 'Key Vault Contributor', principal: 'id-kms', scope: 'vault:kv-bad' },
  ],
  clusters: [
    {
      name: 'aks-ok',
      kubernetesVersion: '1.29',
      identity: 'id-kms',
      secrets: { count: 20, namespaces: 2, seed: 1, maxBytes: 2048 },
    },
    {
      name: 'aks-on',
      kubernetesVersion: '1.29',
      identity: 'id-kms',
      kms: { vault: 'kv-bad', key: 'kms', version: 1 },
      secrets: { count: 20, namespaces: 2, seed: 2, maxBytes: 2048 },
    },
    {
      name: 'aks-sysid',
      kubernetesVersion: '1.29',
      secrets: { count: 10, namespaces: 1, seed: 3, maxBytes: 1024 },
    },
    {
      name: 'aks-bare',
      kubernetesVersion: '1.29',
      identity: 'id-bare',
      secrets: { count: 10, namespaces: 1, seed: 4, maxBytes: 1024 },
    },
    {
      name: 'aks-v1big',
      kubernetesVersion: '1.26',
      identity: 'id-kms',
      secrets: {
        count: 2_001,
        namespaces: 5,
        seed: 5,
        maxBytes: 200,
        mix: { opaque: 1, tls: 0, dockerconfigjson: 0, 'service-account-token': 0, helm: 0 },
      },
    },
    {
      name: 'aks-failed',
      kubernetesVersion: '1.29',
      identity: 'id-kms',
      secrets: { count: 10, namespaces: 1, seed: 7, maxBytes: 1024 },
    },
    {
      name: 'aks-noid',
      kubernetesVersion: '1.29',
      identity: 'id-gone',
      secrets: { count: 10, namespaces: 1, seed: 9, maxBytes: 1024 },
    },
    { name: 'aks-stopped', kubernetesVersion: '1.29', identity: 'id-kms', stopped: true },
    // A private vault over Konnectivity from before the article's cut-off (no API server VNet integration).
    {
      name: 'aks-konn',
      kubernetesVersion: '1.29',
      identity: 'id-kms',
      kms: { vault: 'kv-bad', key: 'kms', version: 1, networkAccess: 'Private' },
      secrets: { count: 10, namespaces: 1, seed: 12, maxBytes: 1024 },
    },
    // Its key in use was disabled behind kmsflow's back.
    {
      name: 'aks-keyoff',
      kubernetesVersion: '1.29',
      identity: 'id-kms',
      kms: { vault: 'kv-bad', key: 'off', version: 1 },
      secrets: { count: 10, namespaces: 1, seed: 11, maxBytes: 1024 },
    },
    {
      name: 'aks-zero',
      kubernetesVersion: '1.29',
      identity: 'id-kms',
      nodePools: [
        { name: 'system', count: 3, mode: 'System' },
        { name: 'batch', count: 0, mode: 'User' },
      ],
      secrets: { count: 10, namespaces: 1, seed: 10, maxBytes: 1024 },
    },
    {
      name: 'aks-private',
      kubernetesVersion: '1.29',
      identity: 'id-kms',
      apiServerVnetIntegration: true,
      kms: { vault: 'kv-walled-private', key: 'kms', version: 1, networkAccess: 'Private' },
      secrets: { count: 10, namespaces: 1, seed: 8, maxBytes: 1024 },
    },
  ],
};

let env: KmsflowTestEnv;
let worker: Worker;
let running: Promise<void>;
let tmp: string;
let kms: string[];
let key: (vault: string, name: string) => Promise<string>;

const connection = () => [
  '--address',
  env.temporal.server.address,
  '--namespace',
  env.temporal.server.namespace,
];
const cli = (...argv: string[]) => runCli([...argv, ...connection()], { env: { USER: 'tester' } });

beforeAll(async () => {
  env = await startKmsflowEnv(scenario);
  await env.sandbox.clients().msi.userAssignedIdentities.delete('rg-bad', 'id-gone');
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kmsflow-bad-'));
  const envFile = path.join(tmp, 'sandbox.env');
  await env.sandbox.writeEnvFile(envFile);
  worker = await createKmsflowWorker({
    connection: env.temporal.env.nativeConnection,
    namespace: env.temporal.server.namespace,
    taskQueue: TASK_QUEUE,
    workflowBundle: env.workflowBundle,
    activities: buildActivities({
      source: activitySource({ sandboxEnvFile: envFile, env: {} }),
      temporal: env.temporal.env.client,
      pollIntervalMs: 100,
    }),
  });
  running = worker.run();
  kms = await env.keyVersions('kv-bad', 'kms');
  // Read from the sandbox's store: the test's own Key Vault calls would meet the firewall and tenant checks too.
  key = async (vault, name) => {
    const versions = env.sandbox.context.store.vaultByName(vault)!.keys[name]!.versions;
    return storedKeyId(env.sandbox.vaultUrl(vault), name, versions[versions.length - 1]!.version);
  };
  await failCluster('aks-failed');
}, 120_000);

afterAll(async () => {
  worker?.shutdown();
  await running;
  await env?.teardown();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

/** Puts a cluster in provisioning state Failed the way Azure does: an update whose operation ends Failed. */
async function failCluster(name: string): Promise<void> {
  const rule = env.sandbox.faults.addRule({
    service: 'arm',
    path: `/managedClusters/${name}$`,
    action: {
      kind: 'lroFailure',
      code: 'VMExtensionProvisioningError',
      message: 'The node pool failed to provision.',
    },
  });
  const aks = env.sandbox.clients().containerService;
  const current = await aks.managedClusters.get('rg-bad', name);
  await aks.managedClusters
    .beginCreateOrUpdateAndWait('rg-bad', name, { ...current, tags: { touched: 'yes' } })
    .catch(() => undefined);
  env.sandbox.faults.removeRule(rule.id);
  expect((await aks.managedClusters.get('rg-bad', name)).provisioningState).toBe('Failed');
}

const foreignVaultId = () =>
  `/subscriptions/22222222-3333-4444-8555-666666666666/resourceGroups/rg-other/providers/Microsoft.KeyVault/vaults/kv-foreign`;
const lastSeq = () => env.sandbox.oplog.lastSeq;
let tried = 0;

describe('bad arguments at the CLI: usage error (exit 2) naming the fix, nothing started, nothing changed', () => {
  it('refuses malformed ids, unversioned keys and missing arguments', async () => {
    const ok = env.clusterId('aks-ok');
    const cases: Array<{ argv: string[]; says: RegExp }> = [
      {
        argv: [
          'start',
          'enable',
          '--cluster',
          '/subscriptions/x/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm',
          '--key-id',
          kms[0]!,
        ],
        says: /is not an AKS cluster resource id: expected \/subscriptions\/.+managedClusters/i,
      },
      {
        argv: ['plan', 'enable', '--cluster', 'aks-ok', '--key-id', kms[0]!],
        says: /is not an AKS cluster resource id/,
      },
      {
        argv: ['start', 'enable', '--cluster', ok, '--key-id', kms[0]!.split('/').slice(0, -1).join('/')],
        says: /has no key version: AKS KMS needs a versioned key id; take it from az keyvault key show/,
      },
      {
        argv: ['start', 'enable', '--cluster', ok, '--key-id', 'https://kv-bad.example.com/secrets/kms/abc'],
        says: /--key-id .+ (is not|has no)/,
      },
      {
        argv: ['start', 'enable', '--cluster', ok, '--key-id', kms[0]!, '--mode', 'Private'],
        says: /--mode Private needs --vault-id: the key vault's resource id, from az keyvault show/,
      },
      {
        argv: [
          'start',
          'switch-mode',
          '--cluster',
          ok,
          '--mode',
          'Private',
          '--vault-id',
          '/subscriptions/x/vaults/kv',
        ],
        says: /--vault-id .+ is not/,
      },
      {
        argv: ['plan', 'rotate', '--cluster', ok],
        says: /rotate needs --key-id: the versioned key id, from az keyvault key show/,
      },
      {
        argv: [
          'plan',
          'rotate',
          '--cluster',
          ok,
          '--key-id',
          kms[1]!,
          '--mode',
          'Private',
          '--vault-id',
          env.vaultId('kv-wall'),
        ],
        says: /--vault-id names vault kv-wall, but --key-id is a key of kv-bad: give the vault that holds the key/,
      },
      {
        argv: ['start', 'migrate-v2', '--cluster', ok, '--target-version', 'latest'],
        says: /--target-version/,
      },
      {
        argv: ['start', 'migrate-v2', '--cluster', ok, '--target-version', '1.26'],
        says: /--target-version 1\.26 is below 1\.27: KMS v2 needs Kubernetes 1\.27 or later; give e\.g\. --target-version 1\.29\./,
      },
      {
        argv: ['start', 'enable', '--cluster', ok, '--key-id', kms[0]!, '--mode', 'public-ish'],
        says: /is not a network access mode: use Public or Private/,
      },
      {
        argv: ['start', 'frobnicate', '--cluster', ok],
        says: /Unknown procedure "frobnicate": name one of enable, disable, rotate, retire, switch-mode, migrate-v2/,
      },
    ];
    const before = lastSeq();
    for (const { argv, says } of cases) {
      const run = await cli(...argv);
      expect(run.code, argv.join(' ')).toBe(2);
      expect(run.stdout, argv.join(' ')).toBe('');
      expect(run.stderr, argv.join(' ')).toMatch(says);
      expect(run.stderr.trim().split('\n'), argv.join(' ')).toHaveLength(1);
    }
    tried += cases.length;
    const list = await cli('list', '--json');
    expect(list.stdout).toContain('"procedures": []');
    expect(changesSince(env.sandbox.oplog, before)).toEqual([]);
  });

  it('names unknown workflow ids for every operator command (exit 5)', async () => {
    const commands = [
      ['status'],
      ['watch'],
      ['approve', 'disable-kms'],
      ['retry'],
      ['pause'],
      ['resume'],
      ['cancel', '--reason', 'x'],
      ['report'],
    ];
    for (const command of commands) {
      const [verb, ...rest] = command;
      const run = await cli(verb!, 'kmsflow:no-such-cluster', ...rest, '--json');
      expect(run.code, verb).toBe(5);
      expect(parseJson<ErrorShape>(run.stderr).error.message, verb).toMatch(
        /No workflow "kmsflow:no-such-cluster" in namespace .+: check the id with `kmsflow list`/,
      );
    }
    tried += commands.length;
  });
});

interface PreflightCase {
  what: string;
  procedure: string;
  cluster: string;
  args: () => Promise<string[]>;
  code: string;
  /** A phrase the fix must contain. */
  fix: RegExp;
}

const preflightCases: PreflightCase[] = [
  {
    what: 'an EC key',
    procedure: 'enable',
    cluster: 'aks-ok',
    args: async () => ['--key-id', await key('kv-bad', 'ec')],
    code: 'KeyNotRsa',
    fix: /--kty RSA/,
  },
  {
    what: 'a disabled key version',
    procedure: 'enable',
    cluster: 'aks-ok',
    args: async () => ['--key-id', await key('kv-bad', 'off')],
    code: 'KeyDisabled',
    fix: /set-attributes .+--enabled true/,
  },
  {
    what: 'an expired key version',
    procedure: 'enable',
    cluster: 'aks-ok',
    args: async () => ['--key-id', await key('kv-bad', 'old')],
    code: 'KeyExpired',
    fix: /extend its expiry/i,
  },
  {
    what: 'a key that does not exist',
    procedure: 'enable',
    cluster: 'aks-ok',
    args: async () => [
      '--key-id',
      `${kms[0]!.split('/keys/')[0]}/keys/nope/0123456789abcdef0123456789abcdef`,
    ],
    code: 'KeyNotFound',
    fix: /key show/,
  },
  {
    what: 'a vault that does not exist',
    procedure: 'enable',
    cluster: 'aks-ok',
    args: async () => [
      '--key-id',
      `${env.sandbox.vaultUrl('kv-missing')}/keys/kms/0123456789abcdef0123456789abcdef`,
    ],
    code: 'KeyNotFound',
    fix: /key id/,
  },
  {
    what: 'a vault of another tenant',
    procedure: 'enable',
    cluster: 'aks-ok',
    args: async () => [
      '--key-id',
      await key('kv-foreign', 'kms'),
      '--mode',
      'Private',
      '--vault-id',
      foreignVaultId(),
    ],
    code: 'ForeignTenantVault',
    fix: /tenant/,
  },
  {
    what: 'a system-assigned identity',
    procedure: 'enable',
    cluster: 'aks-sysid',
    args: async () => ['--key-id', kms[0]!],
    code: 'SystemAssignedIdentity',
    fix: /--assign-identity/,
  },
  {
    what: 'Private without API server VNet integration',
    procedure: 'enable',
    cluster: 'aks-ok',
    args: async () => ['--key-id', kms[0]!, '--mode', 'Private', '--vault-id', env.vaultId('kv-bad')],
    code: 'PrivateNeedsVnetIntegration',
    fix: /--enable-apiserver-vnet-integration/,
  },
  {
    what: 'Public with a firewalled vault',
    procedure: 'enable',
    cluster: 'aks-ok',
    args: async () => ['--key-id', await key('kv-wall', 'kms')],
    code: 'PublicModeWithFirewall',
    fix: /--default-action Allow|Private mode/,
  },
  {
    what: 'a KMS v1 cluster over 2,000 Secrets',
    procedure: 'enable',
    cluster: 'aks-v1big',
    args: async () => ['--key-id', kms[0]!],
    code: 'KmsV1SecretLimit',
    fix: /migrate-to-kms-v2|at most 2000/,
  },
  {
    what: 'a cluster in Failed state',
    procedure: 'enable',
    cluster: 'aks-failed',
    args: async () => ['--key-id', kms[0]!],
    code: 'ClusterFailed',
    fix: /az aks update/,
  },
  {
    what: 'an identity without Key Vault Crypto User',
    procedure: 'enable',
    cluster: 'aks-bare',
    args: async () => ['--key-id', kms[0]!],
    code: 'IdentityLacksCryptoPermission',
    fix: /Key Vault Crypto User/,
  },
  {
    what: 'rotating to the key in use',
    procedure: 'rotate',
    cluster: 'aks-on',
    args: async () => ['--key-id', kms[0]!],
    code: 'SameKey',
    fix: /new key version/,
  },
  {
    what: 'rotating a cluster without KMS',
    procedure: 'rotate',
    cluster: 'aks-ok',
    args: async () => ['--key-id', kms[1]!],
    code: 'KmsNotEnabled',
    fix: /enable-kms/,
  },
  {
    what: 'enabling with another key (a rotation)',
    procedure: 'enable',
    cluster: 'aks-on',
    args: async () => ['--key-id', kms[1]!],
    code: 'UseRotate',
    fix: /rotate-key/,
  },
  {
    what: 'switching to the mode in use',
    procedure: 'switch-mode',
    cluster: 'aks-on',
    args: async () => ['--mode', 'Public', '--vault-id', env.vaultId('kv-bad')],
    code: 'SameMode',
    fix: /Private/,
  },
  {
    what: 'a cluster whose identity was deleted',
    procedure: 'enable',
    cluster: 'aks-noid',
    // Its identity is deleted in beforeAll, behind kmsflow's back (the article: deleting it is not supported).
    args: async () => ['--key-id', kms[0]!],
    code: 'IdentityNotFound',
    fix: /cannot be recovered.+--assign-identity/,
  },
  {
    what: 'rotating away from a key in use that is disabled',
    procedure: 'rotate',
    cluster: 'aks-keyoff',
    args: async () => ['--key-id', kms[1]!],
    code: 'NeededKeyDisabled',
    fix: /--enabled true/,
  },
  {
    what: 'retiring through a disabled key version (--new-key-ids)',
    procedure: 'retire',
    cluster: 'aks-on',
    args: async () => ['--new-key-ids', `${await key('kv-bad', 'off')},${kms[1]!}`],
    code: 'KeyDisabled',
    fix: /--enabled true/,
  },
  {
    what: 'retiring in a private vault the worker cannot reach',
    procedure: 'retire',
    cluster: 'aks-private',
    args: async () => [],
    code: 'VaultUnreachable',
    fix: /inside the VNet.+private endpoint/,
  },
  {
    what: 'a Private key outside the vault given',
    procedure: 'enable',
    cluster: 'aks-zero',
    args: async () => ['--key-id', kms[0]!, '--mode', 'Private', '--vault-id', env.vaultId('kv-wall')],
    code: 'KeyNotInVault',
    fix: /vault that holds the key/,
  },
  {
    what: 'a stopped cluster',
    procedure: 'enable',
    cluster: 'aks-stopped',
    args: async () => ['--key-id', kms[0]!],
    code: 'ClusterStopped',
    fix: /az aks start/,
  },
  {
    what: 'switching to Public with the vault behind a firewall',
    procedure: 'switch-mode',
    cluster: 'aks-private',
    args: async () => ['--mode', 'Public', '--vault-id', env.vaultId('kv-walled-private')],
    code: 'PublicModeWithFirewall',
    fix: /--default-action Allow/,
  },
  {
    what: 'retiring on a cluster without KMS',
    procedure: 'retire',
    cluster: 'aks-ok',
    args: async () => [],
    code: 'KmsNotEnabled',
    fix: /enable-kms/,
  },
];

describe('bad inputs preflight catches, before any change', () => {
  it.each(preflightCases)('plan refuses $what with $code and its fix (exit 2)', async (c) => {
    const before = lastSeq();
    const run = await cli(
      'plan',
      c.procedure,
      '--cluster',
      env.clusterId(c.cluster),
      ...(await c.args()),
      '--json',
    );
    expect(run.stderr).toBe('');
    expect(run.code).toBe(2);
    const plan = parseJson<PlanResult>(run.stdout);
    expect(plan.ok).toBe(false);
    const finding = plan.findings.find((f) => f.code === c.code);
    expect(finding, JSON.stringify(plan.findings)).toMatchObject({ severity: 'error' });
    expect(finding?.fix).toMatch(c.fix);
    expect(changesSince(env.sandbox.oplog, before)).toEqual([]);
    tried++;
  });

  it('plan warns about a node pool at zero nodes and says how to scale safely, without refusing', async () => {
    const run = await cli(
      'plan',
      'enable',
      '--cluster',
      env.clusterId('aks-zero'),
      '--key-id',
      kms[0]!,
      '--json',
    );
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const plan = parseJson<PlanResult>(run.stdout);
    const zero = plan.findings.find((f) => f.code === 'NodePoolAtZero');
    expect(zero).toMatchObject({ severity: 'warning' });
    expect(zero?.message).toContain('batch');
    expect(zero?.fix).toMatch(/az aks nodepool scale .+--name batch/);
  });

  it('plan lets a cluster on a private vault over Konnectivity rotate, warning about the deadline; enabling Private without VNet integration stays refused', async () => {
    const run = await cli(
      'plan',
      'rotate',
      '--cluster',
      env.clusterId('aks-konn'),
      '--key-id',
      kms[1]!,
      '--json',
    );
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const plan = parseJson<PlanResult>(run.stdout);
    expect(plan.findings.filter((f) => f.severity === 'error')).toEqual([]);
    const konnectivity = plan.findings.find((f) => f.code === 'KonnectivityPrivateVault');
    expect(konnectivity).toMatchObject({ severity: 'warning' });
    expect(konnectivity?.message).toMatch(/1\.30's end of community support/);
    expect(konnectivity?.fix).toMatch(/--enable-apiserver-vnet-integration/);
    expect(
      preflightCases.some((c) => c.code === 'PrivateNeedsVnetIntegration' && c.procedure === 'enable'),
    ).toBe(true);
  });

  it('a started procedure stops at preflight with the same code and fix, and has changed nothing', async () => {
    // One procedure per cluster at a time: the first case of each cluster.
    const firstPerCluster = [...new Map(preflightCases.map((c) => [c.cluster, c])).values()];
    const before = lastSeq();
    const started = await Promise.all(
      firstPerCluster.map(async (c) => {
        const run = await cli(
          'start',
          c.procedure,
          '--cluster',
          env.clusterId(c.cluster),
          ...(await c.args()),
          '--approve',
          'all',
          '--json',
        );
        expect(run.code, `${c.what}: ${run.stderr}`).toBe(0);
        return {
          c,
          handle: env.temporal.env.client.workflow.getHandle(procedureWorkflowId(env.clusterId(c.cluster))),
        };
      }),
    );
    for (const { c, handle } of started) {
      const blocked = await waitUntil(
        () => handle.query(progressQuery),
        (p: ProcedureProgress) => p.phase === 'blocked',
        { what: `${c.what} blocked`, timeoutMs: 60_000 },
      );
      expect(blocked.currentStep).toBe('preflight');
      const reason = blocked.steps.find((s) => s.id === 'preflight')?.blocked;
      expect(reason?.message).toContain(c.code);
      expect(reason?.fix).toMatch(c.fix);
      const status = await cli('status', handle.workflowId);
      expect(status.code).toBe(3);
      expect(status.stdout).toContain('Fix: ');
      await handle.executeUpdate(cancelUpdate, { args: [{ reason: 'test: bad input' }] });
      tried++;
    }
    expect(changesSince(env.sandbox.oplog, before)).toEqual([]);
    recordFigure('bad-inputs', { tried, procedureRunsStoppedAtPreflight: started.length });
    // Each started procedure may wait up to a minute to block on a loaded machine, plus the CLI calls.
  }, 600_000);
});
