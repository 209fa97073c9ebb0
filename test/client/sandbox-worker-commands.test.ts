// `kmsflow sandbox start` and `kmsflow worker --sandbox-env` as real processes of ./bin/kmsflow: the
// sandbox writes its env file, `sandbox inspect`/`faults` read it, and a worker built from it serves a plan.
import { type ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDevServer, type DevServer } from '../../client/dev-server';
import type { PlanResult } from '../../client/output/shapes';
import type { SandboxOverview } from '../../sandbox/inspect';
import { waitUntil } from '../helpers/wait';
import { parseJson, runCli } from './cli-harness';

interface Running {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<number | null>;
}

function spawnKmsflow(argv: string[]): Running {
  const child = spawn(path.resolve('bin/kmsflow'), argv, {
    env: { ...process.env, NO_COLOR: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, stdout: () => stdout, stderr: () => stderr, exited };
}

async function stop(run: Running | undefined): Promise<number | null | undefined> {
  if (!run || run.child.exitCode !== null) return run?.child.exitCode;
  run.child.kill('SIGINT');
  return run.exited;
}

const scenario = {
  tenantId: '72f988bf-0000-4000-a000-00000000c0de',
  subscriptions: [
    { id: '11111111-2222-4333-8444-555555555555', resourceGroups: [{ name: 'rg-sb', location: 'eastus' }] },
  ],
  principals: [{ name: 'operator', type: 'User' }],
  operator: 'operator',
  clusters: [{ name: 'aks-sb', kubernetesVersion: '1.29', secrets: { count: 12, namespaces: 2, seed: 4 } }],
};
const CLUSTER_ID =
  '/subscriptions/11111111-2222-4333-8444-555555555555/resourceGroups/rg-sb/providers/Microsoft.ContainerService/managedClusters/aks-sb';

let tmp: string;
let envFile: string;
let sandbox: Running | undefined;

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kmsflow-sb-'));
  const scenarioFile = path.join(tmp, 'scenario.json');
  fs.writeFileSync(scenarioFile, JSON.stringify(scenario));
  envFile = path.join(tmp, 'state', 'sandbox.env');
  sandbox = spawnKmsflow(['sandbox', 'start', '--scenario', scenarioFile, '--sandbox-env', envFile]);
  // A process that compiles the CLI as it loads: room for a loaded machine.
  await waitUntil(
    async () => sandbox!.stdout(),
    (out) => out.includes('Press Ctrl-C to stop.') || sandbox!.child.exitCode !== null,
    {
      timeoutMs: 120_000,
      what: 'the sandbox to start',
    },
  );
}, 150_000);

afterAll(async () => {
  await stop(sandbox);
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('kmsflow sandbox', () => {
  it('start writes the env file (and the CA next to it) and prints the endpoints', () => {
    expect(sandbox!.stderr()).toBe('');
    expect(sandbox!.stdout()).toMatch(/kmsflow sandbox listening on 127\.0\.0\.1:\d+/);
    expect(sandbox!.stdout()).toContain(`Env file       ${envFile}`);
    expect(sandbox!.stdout()).toContain(`Use it: kmsflow worker --sandbox-env ${envFile}`);
    const text = fs.readFileSync(envFile, 'utf8');
    expect(text).toMatch(/^KMSFLOW_SANDBOX_PORT=\d+$/m);
    expect(text).toContain('AZURE_SUBSCRIPTION_ID=11111111-2222-4333-8444-555555555555');
    expect(fs.readFileSync(`${envFile}.ca.pem`, 'utf8')).toContain('BEGIN CERTIFICATE');
  });

  it('inspect --json reads the env file and shows the estate; --cluster shows one cluster', async () => {
    const run = await runCli(['sandbox', 'inspect', '--json', '--sandbox-env', envFile]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const overview = parseJson<SandboxOverview>(run.stdout);
    expect(overview.clusters.map((c) => [c.name, c.resourceGroup, c.kms, c.secrets])).toEqual([
      ['aks-sb', 'rg-sb', 'off', 12],
    ]);

    const cluster = await runCli(['sandbox', 'inspect', '--cluster', 'aks-sb', '--sandbox-env', envFile]);
    expect(cluster.code).toBe(0);
    expect(cluster.stdout).toContain('Cluster aks-sb  Succeeded');
    expect(cluster.stdout).toMatch(/etcd +12 Secrets/);

    const missing = await runCli(['sandbox', 'inspect', '--cluster', 'aks-none', '--sandbox-env', envFile]);
    expect(missing.code).toBe(5);
    expect(missing.stderr).toMatch(/^kmsflow: sandbox admin GET \/clusters\/aks-none: 404 .+\n$/);
  });

  it('faults add, list and clear go to the running sandbox; bad JSON is refused before sending', async () => {
    const rule = {
      service: 'kube',
      method: 'PUT',
      count: 2,
      action: { kind: 'throttle', retryAfterSeconds: 1 },
    };
    const added = await runCli(['sandbox', 'faults', 'add', JSON.stringify(rule), '--sandbox-env', envFile]);
    expect(added.code).toBe(0);
    const listed = await runCli(['sandbox', 'faults', 'list', '--sandbox-env', envFile]);
    expect(parseJson<{ rules: unknown[] }>(listed.stdout).rules).toEqual([
      expect.objectContaining({ service: 'kube', method: 'PUT', count: 2 }),
    ]);
    const cleared = await runCli(['sandbox', 'faults', 'clear', '--sandbox-env', envFile]);
    expect(cleared.code).toBe(0);
    expect(
      parseJson<{ rules: unknown[] }>((await runCli(['sandbox', 'faults', '--sandbox-env', envFile])).stdout)
        .rules,
    ).toEqual([]);

    const invalid = await runCli([
      'sandbox',
      'faults',
      'add',
      JSON.stringify({ ...rule, action: { kind: 'explode' } }),
      '--sandbox-env',
      envFile,
    ]);
    expect(invalid.code).toBe(2);
    expect(invalid.stderr).toMatch(/^kmsflow: sandbox admin POST \/faults: 400 .+\n$/);

    const bad = await runCli(['sandbox', 'faults', 'add', '{service:', '--sandbox-env', envFile]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(
      /^kmsflow: The fault rule is not valid JSON \(.+\): quote it in single quotes\.\n$/,
    );
  });

  it('names a missing env file (exit 2)', async () => {
    const run = await runCli(['sandbox', 'inspect', '--sandbox-env', path.join(tmp, 'nope.env')]);
    expect(run).toMatchObject({ code: 2, stdout: '' });
    expect(run.stderr).toContain(
      `No sandbox env file at ${path.join(tmp, 'nope.env')}: start a sandbox with \`kmsflow sandbox start --sandbox-env`,
    );
  });
});

describe('kmsflow worker --sandbox-env', () => {
  let server: DevServer | undefined;
  let worker: Running | undefined;

  afterAll(async () => {
    await stop(worker);
    await server?.stop();
  });

  it('refuses a sandbox env file that does not exist before connecting (exit 2)', async () => {
    const run = await runCli([
      'worker',
      '--sandbox-env',
      path.join(tmp, 'nope.env'),
      '--address',
      '127.0.0.1:1',
    ]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('No sandbox env file at');
  });

  it('builds activities on the sandbox of the env file and serves a plan', async () => {
    server = await startDevServer({ log: () => {} });
    const connection = ['--address', server.address, '--namespace', server.namespace];
    worker = spawnKmsflow(['worker', '--sandbox-env', envFile, ...connection]);
    // It bundles the workflows before it polls: as for `kmsflow dev`, room for a loaded machine.
    await waitUntil(
      async () => worker!.stdout(),
      (out) => out.includes('kmsflow worker polling') || worker!.child.exitCode !== null,
      {
        timeoutMs: 120_000,
        what: 'the worker to poll',
      },
    );
    expect(worker.stderr()).toContain(`Activities act on sandbox (${envFile})`);

    const plan = await runCli(['plan', 'disable', '--cluster', CLUSTER_ID, '--json', ...connection]);
    expect(plan.stderr).toBe('');
    const result = parseJson<PlanResult>(plan.stdout);
    expect(result).toMatchObject({
      procedure: 'disable-kms',
      cluster: 'aks-sb',
      kubernetesVersion: expect.stringMatching(/^1\.29/),
    });
    // The scenario's cluster has a system-assigned identity: a preflight error found by reading the sandbox's cluster.
    expect(plan.code).toBe(2);
    expect(result.ok).toBe(false);
    expect(result.findings).toContainEqual(
      expect.objectContaining({
        severity: 'error',
        code: 'SystemAssignedIdentity',
        message: 'Cluster aks-sb uses a SystemAssigned identity; KMS supports only a user-assigned identity.',
      }),
    );

    expect(await stop(worker)).toBe(0);
  }, 180_000);
});

describe('stopping the sandbox', () => {
  it('Ctrl-C stops `sandbox start` cleanly (exit 0)', async () => {
    expect(await stop(sandbox)).toBe(0);
    expect(sandbox!.stderr()).toBe('Sandbox stopped.\n');
  });
});
