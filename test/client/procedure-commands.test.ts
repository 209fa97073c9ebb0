// plan, start, report and keys against a real dev server, the sandbox and an in-process worker whose
// activities come from the sandbox env file, exactly as `kmsflow worker --sandbox-env FILE` builds them.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { childEvidence } from '../../client/commands/support/evidence';
import type {
  ErrorShape,
  KeysResult,
  PlanResult,
  ProcedureList,
  ProcedureSnapshot,
  ReportResult,
  StartResult,
} from '../../client/output/shapes';
import type { ScenarioInput } from '../../sandbox/scenario';
import { activitySource, buildActivities } from '../../worker/activities-from-env';
import { createKmsflowWorker } from '../../worker/create-worker';
import { procedureWorkflowId, TASK_QUEUE } from '../../workflows/messages';
import { type KmsflowTestEnv, startKmsflowEnv } from '../helpers/kmsflow-env';
import { waitUntil } from '../helpers/wait';
import { fastReencryptFlags } from '../lifecycle/cli-world';
import { parseJson, runCli } from './cli-harness';

const scenario: ScenarioInput = {
  seed: 21,
  tenantId: '72f988bf-0000-4000-a000-00000000c0de',
  subscriptions: [
    { id: '11111111-2222-4333-8444-555555555555', resourceGroups: [{ name: 'rg-cli', location: 'eastus' }] },
  ],
  principals: [{ name: 'operator', type: 'User' }],
  operator: 'operator',
  identities: [{ name: 'id-kms' }],
  vaults: [
    {
      name: 'kv-cli',
      enablePurgeProtection: true,
      // `soon` expires in ten days: `keys` must warn about it on a cluster that uses it.
      keys: [
        { name: 'kms', versions: 2 },
        { name: 'soon', versions: [{ expiresOn: new Date(Date.now() + 10 * 86_400_000).toISOString() }] },
      ],
    },
  ],
  roleAssignments: [
    { role: 'Key Vault Crypto Officer', principal: 'operator', scope: 'vault:kv-cli' },
    { role: 'Key Vault Crypto User', principal: 'id-kms', scope: 'vault:kv-cli' },
  ],
  clusters: [
    {
      name: 'aks-cli',
      kubernetesVersion: '1.29',
      identity: 'id-kms',
      secrets: { count: 40, namespaces: 3, seed: 5, maxBytes: 4096 },
    },
    // KMS on before kmsflow ever saw it.
    {
      name: 'aks-untouched',
      kubernetesVersion: '1.29',
      identity: 'id-kms',
      kms: { vault: 'kv-cli', key: 'soon', version: 1 },
    },
    // System-assigned identity: KMS cannot be enabled, preflight must say so.
    {
      name: 'aks-sysid',
      kubernetesVersion: '1.29',
      secrets: { count: 10, namespaces: 1, seed: 6, maxBytes: 2048 },
    },
  ],
};

// Pages small enough that a re-encryption spans several workflow runs.
const FAST = fastReencryptFlags({ pageSize: 15, pagesPerRun: 2, concurrency: 8 });

/** `text` as a literal inside a RegExp. */
const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

let env: KmsflowTestEnv;
let worker: Worker;
let running: Promise<void>;
let keys: string[];
let tmp: string;
let clusterId: string;

/** Mutating calls recorded after sequence number `before`. */
function changesSince(before: number): string[] {
  return env.sandbox.oplog.entries({ afterSeq: before }).map((e) => `${e.method} ${e.path}`);
}

const connection = () => [
  '--address',
  env.temporal.server.address,
  '--namespace',
  env.temporal.server.namespace,
];
const cli = (...argv: string[]) => runCli([...argv, ...connection()], { env: { USER: 'tester' } });

beforeAll(async () => {
  env = await startKmsflowEnv(scenario);
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kmsflow-cli-'));
  const envFile = path.join(tmp, 'sandbox.env');
  await env.sandbox.writeEnvFile(envFile);
  const activities = buildActivities({
    source: activitySource({ sandboxEnvFile: envFile, env: {} }),
    temporal: env.temporal.env.client,
    pollIntervalMs: 100,
  });
  worker = await createKmsflowWorker({
    connection: env.temporal.env.nativeConnection,
    namespace: env.temporal.server.namespace,
    taskQueue: TASK_QUEUE,
    workflowBundle: env.workflowBundle,
    activities,
  });
  running = worker.run();
  keys = await env.keyVersions('kv-cli', 'kms');
  clusterId = env.clusterId('aks-cli');
  // A dev server, the sandbox and the workflow bundle: the hook timeout of the config, not less.
}, 180_000);

afterAll(async () => {
  worker?.shutdown();
  await running;
  await env?.teardown();
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('bad procedure arguments', () => {
  const badCases = (): Array<{ argv: string[]; message: RegExp }> => [
    {
      argv: ['start', 'enable', '--cluster', '/subscriptions/x/resourceGroups/rg/aks', '--key-id', keys[0]!],
      message:
        /^kmsflow: --cluster "\/subscriptions\/x\/resourceGroups\/rg\/aks" is not an AKS cluster resource id: expected .+\.\n$/,
    },
    {
      argv: [
        'start',
        'enable',
        '--cluster',
        clusterId,
        '--key-id',
        keys[0]!.split('/').slice(0, -1).join('/'),
      ],
      message:
        /^kmsflow: --key-id "https:\/\/kv-cli\.vault\.azure\.net(:\d+)?\/keys\/kms" has no key version: AKS KMS needs a versioned key id; take it from az keyvault key show .+\.\n$/,
    },
    {
      argv: ['start', 'enable', '--cluster', clusterId, '--key-id', keys[0]!, '--mode', 'Private'],
      message:
        /^kmsflow: --mode Private needs --vault-id: the key vault's resource id, from az keyvault show --name VAULT --query id -o tsv\.\n$/,
    },
    {
      argv: ['start', 'frobnicate', '--cluster', clusterId],
      message:
        /^kmsflow: Unknown procedure "frobnicate": name one of enable, disable, rotate, retire, switch-mode, migrate-v2\.\n$/,
    },
    {
      argv: ['plan', 'rotate', '--cluster', clusterId],
      message: /^kmsflow: rotate needs --key-id: the versioned key id, from az keyvault key show .+\.\n$/,
    },
    {
      argv: ['start', 'disable', '--cluster', clusterId, '--key-id', keys[0]!],
      message:
        /^kmsflow: --key-id does not apply to disable: it is for enable, rotate, switch-mode, migrate-v2\.\n$/,
    },
    {
      argv: ['start', 'enable', '--cluster', clusterId, '--key-id', keys[0]!, '--mode', 'Hidden'],
      message: /^kmsflow: --mode "Hidden" is not a network access mode: use Public or Private\.\n$/,
    },
    {
      argv: ['start', 'enable', '--resource-group', 'rg-cli', '--key-id', keys[0]!],
      message: /^kmsflow: Name the cluster: --cluster .+, or --resource-group RG --name NAME\.\n$/,
    },
  ];

  it('refuses each with exit 2 and one sentence, and starts nothing', async () => {
    for (const { argv, message } of badCases()) {
      const run = await cli(...argv);
      expect(run.code, argv.join(' ')).toBe(2);
      expect(run.stdout).toBe('');
      expect(run.stderr).toMatch(message);
    }
    const list = await cli('list', '--json');
    expect(list.code).toBe(0);
    expect(parseJson<ProcedureList>(list.stdout).procedures).toEqual([]);
  });
});

describe('plan', () => {
  it('shows findings, steps with their commands, Secrets in scope and key slots, and writes nothing (exit 0)', async () => {
    const before = env.sandbox.oplog.last()?.seq ?? 0;
    const json = await cli('plan', 'enable', '--cluster', clusterId, '--key-id', keys[0]!, '--json');
    expect(json.stderr).toBe('');
    expect(json.code).toBe(0);
    const plan = parseJson<PlanResult>(json.stdout);
    expect(plan).toMatchObject({
      procedure: 'enable-kms',
      cluster: 'aks-cli',
      ok: true,
      kms: { enabled: false, keyId: null },
    });
    expect(plan.findings.filter((f) => f.severity === 'error')).toEqual([]);
    expect(plan.steps.map((s) => s.id)).toEqual(['preflight', 'canary', 'enable-kms', 'reencrypt']);
    expect(plan.steps.find((s) => s.id === 'enable-kms')?.command).toContain(
      `--azure-keyvault-kms-key-id ${keys[0]}`,
    );
    expect(plan.steps.find((s) => s.id === 'reencrypt')?.command).toBe(
      'kubectl get secrets --all-namespaces -o json | kubectl replace -f -',
    );
    expect(plan.secretsInScope).toBeGreaterThanOrEqual(40);
    expect(plan.estimatedSeconds).toBeGreaterThan(0);
    expect(plan.slots.after.current).toBe(keys[0]);
    expect(plan.workflowId).toMatch(/^kmsflow-plan:\/subscriptions\/.+\/managedclusters\/aks-cli:/);

    const text = await cli(
      'plan',
      'enable',
      '--resource-group',
      'rg-cli',
      '--name',
      'aks-cli',
      '--subscription',
      env.sandbox.subscriptionId,
      '--key-id',
      keys[0]!,
    );
    expect(text.code).toBe(0);
    expect(text.stdout).toContain('Plan: enable-kms on aks-cli');
    expect(text.stdout).toContain('Preflight passes');
    expect(text.stdout).toMatch(
      / 3\. Enable KMS \(Public\)\n {6}\$ az aks update -g rg-cli -n aks-cli --enable-azure-keyvault-kms/,
    );
    expect(text.stdout).toMatch(/Secrets in scope: {3}\d+/);
    expect(text.stdout).toContain('Key slots after:    current kv-cli/kms/');
    expect(changesSince(before)).toEqual([]);
  });

  it('exits 2 with the preflight errors and their fixes, changing nothing', async () => {
    const before = env.sandbox.oplog.last()?.seq ?? 0;
    const run = await cli(
      'plan',
      'enable',
      '--cluster',
      env.clusterId('aks-sysid'),
      '--key-id',
      keys[0]!,
      '--json',
    );
    expect(run.code).toBe(2);
    const plan = parseJson<PlanResult>(run.stdout);
    expect(plan.ok).toBe(false);
    const errors = plan.findings.filter((f) => f.severity === 'error');
    expect(errors.length).toBeGreaterThan(0);
    expect(errors.every((f) => f.fix !== null && f.fix.length > 0)).toBe(true);
    const text = await cli('plan', 'enable', '--cluster', env.clusterId('aks-sysid'), '--key-id', keys[0]!);
    expect(text.code).toBe(2);
    expect(text.stdout).toMatch(/Preflight found \d+ error\(s\)/);
    expect(text.stdout).toContain('Fix: ');
    expect(text.stdout).toContain('Nothing was changed. Fix the errors above, then plan again.');
    expect(changesSince(before)).toEqual([]);
  });

  it('names a cluster that does not exist (exit 5)', async () => {
    const run = await cli('plan', 'disable', '--cluster', env.clusterId('aks-nowhere'));
    expect(run.code).toBe(5);
    expect(run.stderr).toMatch(/^kmsflow: The plan of disable on aks-nowhere failed: .+\n$/);
  });
});

describe('start, report, keys', () => {
  it('with --preflight, refuses to start when the plan finds errors (exit 2) and starts nothing', async () => {
    const sysid = env.clusterId('aks-sysid');
    const run = await cli('start', 'enable', '--cluster', sysid, '--key-id', keys[0]!, '--preflight');
    expect(run.code).toBe(2);
    expect(run.stdout).toContain('Plan: enable-kms on aks-sysid');
    expect(run.stderr).toBe('kmsflow: preflight found errors; enable was not started.\n');
    const list = parseJson<ProcedureList>((await cli('list', '--cluster', 'aks-sysid', '--json')).stdout);
    expect(list.procedures).toEqual([]);
  });

  // A whole procedure, watched to its end: a timeout with room for a loaded machine, not the 60 s default.
  it('starts enable, watches it to completion, proves it in the report and records the key in the ledger', async () => {
    const run = await cli(
      'start',
      'enable',
      '--cluster',
      clusterId,
      '--key-id',
      keys[0]!,
      '--approve',
      'all',
      '--watch',
      '--interval',
      '0.2',
      '--ui-url',
      'http://127.0.0.1:8233',
      ...FAST,
    );
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const id = procedureWorkflowId(clusterId);
    expect(run.stdout).toContain(`Started enable-kms on aks-cli as tester`);
    expect(run.stdout).toContain(`  workflow  ${id}`);
    expect(run.stdout).toContain(
      `  Web UI    http://127.0.0.1:8233/namespaces/${env.temporal.server.namespace}/workflows/${encodeURIComponent(id)}`,
    );
    expect(run.stdout).toContain(`kmsflow report ${id}`);
    expect(run.stdout).toContain(`step 4/4 reencrypt: done`);
    expect(run.stdout).toContain(`${id} completed`);

    const description = await env.temporal.env.client.workflow.getHandle(id).describe();
    expect(description.memo).toEqual({ requestedBy: 'tester' });
    expect(await description.staticSummary()).toBe('enable-kms on aks-cli');
    expect(await description.staticDetails()).toContain(`| keyId | \`${keys[0]}\` |`);

    const report = await cli('report', clusterId, '--json');
    expect(report.code).toBe(0);
    const evidence = parseJson<ReportResult>(report.stdout);
    expect(evidence).toMatchObject({
      workflowId: id,
      procedure: 'enable-kms',
      cluster: 'aks-cli',
      status: 'completed',
      verdict: 'proven',
      exitCode: 0,
      source: 'result',
    });
    expect(evidence.reencryptions).toHaveLength(1);
    const proof = evidence.reencryptions[0]!;
    expect(proof).toMatchObject({
      state: 'completed',
      expected: keys[0],
      proven: true,
      notProven: [],
      failures: [],
    });
    expect(proof.rewrite.counts.rewritten! + proof.rewrite.counts.alreadyCurrent!).toBeGreaterThanOrEqual(40);
    expect(proof.verify.counts.stale).toBe(0);
    expect(proof.verify.digest).toMatch(/^[0-9a-f]{64}$/);
    expect(Number(proof.watermark)).toBeGreaterThan(0);

    const text = await cli('report', id);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain('Verdict: proven');
    expect(text.stdout).toMatch(/1\. reencrypt PROVEN: every Secret under kv-cli\/kms\//);
    expect(text.stdout).toMatch(/rewrite +\d+ +\d+/);

    // The same proof, found through visibility as a running procedure's report would find it.
    const children = await childEvidence(env.temporal.env.client, {
      workflowId: id,
      runId: description.runId,
    });
    expect(children.views.map((v) => [v.step, v.proven, v.watermark])).toEqual([
      ['reencrypt', true, proof.watermark],
    ]);

    const ledger = await cli('keys', clusterId, '--json');
    expect(ledger.code).toBe(0);
    const view = parseJson<KeysResult>(ledger.stdout);
    expect(view).toMatchObject({
      known: true,
      kmsEnabled: true,
      slots: { current: keys[0], previous: null },
      stillNeeded: [keys[0]],
      retirable: [],
    });
    expect(view.keys).toEqual([
      expect.objectContaining({
        keyId: keys[0],
        slot: 'current',
        state: 'still-needed',
        provenAt: expect.any(String),
      }),
    ]);
    expect(view.lastReencryption).toMatchObject({
      keyId: keys[0],
      proven: true,
      watermark: proof.watermark,
      digest: proof.verify.digest,
    });
    const ledgerText = await cli('keys', clusterId);
    expect(ledgerText.stdout).toContain('Key slots (kmsflow ledger): current kv-cli/kms/');
    expect(ledgerText.stdout).toMatch(/Last re-encryption: proven at .+ under kv-cli\/kms\//);
  }, 240_000);

  it("keys on a cluster kmsflow never changed shows AKS's current slot as ARM reports it, the key as Key Vault does, and warns that it expires soon", async () => {
    const untouched = env.clusterId('aks-untouched');
    const [soon] = await env.keyVersions('kv-cli', 'soon');
    const run = await cli('keys', untouched, '--json');
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const result = parseJson<KeysResult>(run.stdout);
    expect(result.known).toBe(false);
    expect(result.azureUnread).toBeNull();
    expect(result.azure).toMatchObject({ kmsEnabled: true, networkAccess: 'Public', currentKeyId: soon });
    expect(result.azure?.keys).toEqual([
      {
        keyId: soon,
        source: 'arm-current-slot',
        enabled: true,
        expiresOn: expect.any(String),
        problem: null,
      },
    ]);
    expect(result.warnings).toHaveLength(1);
    expect(result.warnings[0]).toMatch(/the key in use.+expires on .+within 30 days/);
    const text = await cli('keys', untouched, '--warn-days', '5');
    expect(text.stdout).toContain('AKS now (ARM): KMS on (Public), current slot');
    expect(text.stdout).not.toContain('! ');
  });

  it('refuses a second procedure on the same cluster while one runs (exit 2, names it), and reports no evidence yet (exit 5)', async () => {
    const first = await cli('start', 'disable', '--cluster', clusterId, '--json', ...FAST);
    expect(first.code).toBe(0);
    const started = parseJson<StartResult>(first.stdout);
    const id = procedureWorkflowId(clusterId);
    expect(started).toMatchObject({
      workflowId: id,
      workflowType: 'disableKms',
      procedure: 'disable-kms',
      cluster: 'aks-cli',
      requestedBy: 'tester',
      workerSeen: true,
      uiUrl: null,
    });
    expect(started.next).toContain(`kmsflow watch ${id}`);

    const second = await cli('start', 'rotate', '--cluster', clusterId, '--key-id', keys[1]!);
    expect(second.code).toBe(2);
    expect(second.stdout).toBe('');
    // It names the running procedure, its run and (once it has one) its step, and how to follow or stop it.
    expect(second.stderr).toMatch(
      new RegExp(
        `^kmsflow: aks-cli already runs disable-kms as ${escape(id)} \\(run ${started.runId}(, at step [a-z-]+)?\\); one procedure per cluster at a time: ` +
          `follow it with \`kmsflow status ${escape(id)}\`, or stop it with \`kmsflow cancel ${escape(id)} --reason "\\.\\.\\."\`\\.\n$`,
      ),
    );
    const json = await cli('start', 'rotate', '--cluster', clusterId, '--key-id', keys[1]!, '--json');
    expect(parseJson<ErrorShape>(json.stderr).error.exitCode).toBe(2);

    await waitUntil(
      async () => parseJson<ProcedureSnapshot>((await cli('status', id, '--json')).stdout),
      (s) => s.phase === 'waiting-approval',
      { what: 'disable waiting at its gate', timeoutMs: 60_000 },
    );
    const listed = parseJson<ProcedureList>((await cli('list', '--status', 'running', '--json')).stdout);
    expect(listed.procedures.map((p) => [p.workflowId, p.procedure, p.cluster])).toEqual([
      [id, 'disable-kms', 'aks-cli'],
    ]);

    const report = await cli('report', id, '--json');
    expect(report.code).toBe(5);
    expect(parseJson<ReportResult>(report.stdout)).toMatchObject({
      status: 'running',
      verdict: 'unknown',
      source: 'children',
      reencryptions: [],
      note: 'No re-encryption has run yet.',
    });

    const cancelled = await cli('cancel', id, '--reason', 'test done');
    expect(cancelled.code).toBe(0);
  }, 120_000);
});
