/**
 * `npm run bench -- reencrypt`: the storage migration after a key change, on a fresh copy of the same
 * seeded estate for every contender, with zero and with realistic per-request latency.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { writeMarker } from '../../activities/reencrypt/markers';
import type { Marker } from '../../activities/reencrypt/types';
import { startDevServer, type DevServer } from '../../client/dev-server';
import { buildWorkflowBundle } from '../../worker/bundle';
import {
  startChild,
  statsSince,
  treeCpuSecondsOf,
  type BenchChild,
  type RuntimeStats,
} from './child-process';
import { connectTemporal, runEngine } from './kmsflow-engine';
import { runKubectlPipeline } from './kubectl-pipeline';
import { namespacesFor, parseOptions, USAGE, type BenchOptions, type Contender } from './options';
import type { runRawClient } from './raw-client';
import { provenance } from '../provenance';
import { formatScaling, scalingOf } from './scaling';
import {
  formatTable,
  formatTargets,
  type ContenderProcess,
  type ContenderRow,
  type Scenario,
} from './report';
import type { EtcdCheck, EstateRequest, SandboxInfo, ServerStats } from './sandbox-process';
import type { WorkerRequest } from './worker-process';
import type { ProxyRequest } from './latency-proxy';

type SandboxChild = BenchChild<{
  start(e: EstateRequest): Promise<SandboxInfo>;
  rotate(_: undefined): Promise<void>;
  checkEtcd(_: undefined): Promise<EtcdCheck>;
  serverStats(_: undefined): Promise<ServerStats>;
  close(_: undefined): Promise<void>;
}>;
type WorkerChild = BenchChild<{ start(r: WorkerRequest): Promise<void>; stop(_: undefined): Promise<void> }>;
type RawChild = BenchChild<{ run: typeof runRawClient }>;

const SANDBOX_FILE = join(__dirname, 'sandbox-process.ts');
const WORKER_FILE = join(__dirname, 'worker-process.ts');
const RAW_FILE = join(__dirname, 'raw-client.ts');
const PROXY_FILE = join(__dirname, 'latency-proxy.ts');

interface Shared {
  options: BenchOptions;
  temporal?: DevServer;
  bundlePath?: string;
}

type ProxyChild = BenchChild<{ start(r: ProxyRequest): Promise<number> }>;

interface Prepared {
  sandbox: SandboxChild;
  proxy?: ProxyChild;
  /** The sandbox's info; with latency, its kubeconfig points at the latency proxy. */
  info: SandboxInfo;
  /** The API server's reading once the estate is ready, before the contender runs. */
  serverBefore: ServerStats;
}

/** Stops the latency proxy and the sandbox with its API server; safe to call twice. */
async function release({ sandbox, proxy }: Prepared): Promise<void> {
  await proxy?.stop();
  await sandbox.call('close', undefined).catch(() => undefined);
  await sandbox.stop();
}

/**
 * Runs `contender` on a fresh sandbox process holding the estate, rotated to the new key, behind a
 * latency proxy when `latencyMs` > 0; the sandbox and its API server are gone afterwards, whatever happened.
 */
async function onPreparedSandbox<T>(
  { size, latencyMs, apiServer = 'emulated' }: Scenario,
  options: BenchOptions,
  contender: (prepared: Prepared) => Promise<T>,
  beforeRotate?: (info: SandboxInfo) => Promise<void>,
): Promise<T> {
  const prepared: Prepared = {
    sandbox: startChild(SANDBOX_FILE, ['--max-old-space-size=8192']),
    info: undefined!,
    serverBefore: undefined!,
  };
  try {
    const { sandbox } = prepared;
    const info = await sandbox.call('start', {
      secrets: size,
      namespaces: namespacesFor(size),
      seed: options.seed,
      apiServer,
    });
    await beforeRotate?.(info);
    await sandbox.call('rotate', undefined);
    const before = await sandbox.call('checkEtcd', undefined);
    if (before.underNewKey > 1)
      throw new Error(
        `${before.underNewKey} Secrets are already under the new key before the contender runs`,
      );
    prepared.info = info;
    prepared.serverBefore = await sandbox.call('serverStats', undefined);
    if (latencyMs > 0) {
      prepared.proxy = startChild(PROXY_FILE);
      const port = await prepared.proxy.call('start', { upstreamPort: info.apiServerPort, latencyMs });
      const server = new RegExp(`https://127\\.0\\.0\\.1:${info.apiServerPort}\\b`);
      if (!server.test(info.kubeconfig))
        throw new Error('the sandbox kubeconfig does not name the expected server URL');
      prepared.info = { ...info, kubeconfig: info.kubeconfig.replace(server, `https://127.0.0.1:${port}`) };
    }
    return await contender(prepared);
  } finally {
    await release(prepared);
  }
}

/** The contender's row, completed by the etcd check and the API server's memory. */
async function finish(
  prepared: Prepared,
  row: Omit<ContenderRow, 'etcd' | 'serverPeakRssMb' | 'serverCpuS' | 'complete'>,
  extraOk = true,
): Promise<ContenderRow> {
  const { sandbox, proxy } = prepared;
  await proxy?.stop();
  // Before the etcd check, which the emulated API server's process also runs.
  const server = await sandbox.call('serverStats', undefined);
  const etcd = await sandbox.call('checkEtcd', undefined);
  const complete = extraOk && etcd.underNewKey === etcd.secrets && etcd.unreadable === 0;
  return {
    ...row,
    etcd,
    serverPeakRssMb: server.peakRssMb,
    serverCpuS: server.cpuS - prepared.serverBefore.cpuS,
    complete,
  };
}

const processRow = (name: string, { peakRssMb, cpuS, gcS, peakHeapMb }: RuntimeStats): ContenderProcess => ({
  name,
  peakRssMb,
  cpuS,
  gcS,
  peakHeapMb,
});

function kubectlRow(scenario: Scenario, shared: Shared): Promise<ContenderRow> {
  return onPreparedSandbox(scenario, shared.options, (prepared) => kubectlContender(scenario.size, prepared));
}

async function kubectlContender(size: number, prepared: Prepared): Promise<ContenderRow> {
  const { info } = prepared;
  const r = await runKubectlPipeline(info.kubeconfig);
  const notes = r.exitCode === 0 ? [] : [`pipeline exit ${r.exitCode}`, ...r.stderrTail];
  if (r.replaced < size) notes.push(`replace printed ${r.replaced} of ${size} "replaced" lines`);
  return finish(
    prepared,
    {
      contender: 'kubectl get | replace',
      wallMs: r.wallMs,
      secrets: size,
      bytes: info.estateBytes,
      processes: [
        { name: 'kubectl get', peakRssMb: r.get.peakRssMb, cpuS: r.get.cpuS },
        { name: 'kubectl replace', peakRssMb: r.replace.peakRssMb, cpuS: r.replace.cpuS },
      ],
      notes,
    },
    r.exitCode === 0,
  );
}

function kmsflowRow(scenario: Scenario, concurrency: number, shared: Shared): Promise<ContenderRow> {
  let canary: Canary | undefined;
  return onPreparedSandbox(
    scenario,
    shared.options,
    (prepared) => kmsflowContender(scenario.size, concurrency, shared, prepared, canary!),
    async (info) => {
      // As the procedures do: the canary is written under the old key, before the key change.
      const kc = new KubeConfig();
      kc.loadFromString(info.kubeconfig);
      canary = await writeMarker(kc.makeApiClient(CoreV1Api), 'kmsflow-canary', `bench-${Date.now()}`);
    },
  );
}

type Canary = Marker;

async function kmsflowContender(
  size: number,
  concurrency: number,
  shared: Shared,
  prepared: Prepared,
  canary: Canary,
): Promise<ContenderRow> {
  const { options } = shared;
  const { info } = prepared;
  const taskQueue = `bench-${Date.now()}`;
  const worker: WorkerChild = startChild(WORKER_FILE);
  try {
    await worker.call('start', {
      temporalAddress: shared.temporal!.address,
      namespace: shared.temporal!.namespace,
      taskQueue,
      bundlePath: shared.bundlePath!,
      endpoints: info.endpoints,
      operator: info.operator,
      kubeconfig: info.kubeconfig,
    });
    const workerBefore = await worker.runtimeStats();
    const temporalBefore = treeCpuSecondsOf(shared.temporal!.pid);
    const client = await connectTemporal(shared.temporal!.address, shared.temporal!.namespace);
    const run = await runEngine(
      { client, taskQueue },
      { clusterId: info.clusterId, expect: { kms: 'enabled', keyId: info.newKeyId }, canary },
      // The canary proves the switch, so the sandbox needs no extra propagation wait.
      {
        pageSize: options.pageSize,
        concurrency,
        maxQps: options.maxQps,
        pagesPerRun: options.pagesPerRun,
        propagationWaitMs: 0,
        pollIntervalMs: 1_000,
      },
    );
    await client.connection.close();
    await worker.call('stop', undefined);
    const workerStats = statsSince(workerBefore, await worker.runtimeStats());
    const temporalCpuS = treeCpuSecondsOf(shared.temporal!.pid) - temporalBefore;
    const h = run.history;
    const rewriteMs =
      h.firstRewritePageMs !== undefined && h.firstVerifyPageMs !== undefined
        ? h.firstVerifyPageMs - h.firstRewritePageMs
        : undefined;
    const r = run.result;
    return finish(
      prepared,
      {
        contender: `kmsflow (c=${concurrency}, maxQps ${options.maxQps || 'none'})`,
        wallMs: run.wallMs,
        ...(rewriteMs !== undefined ? { rewriteMs } : {}),
        secrets: size,
        bytes: info.estateBytes,
        processes: [processRow('worker', workerStats)],
        temporalCpuS,
        history: h,
        proof: {
          proven: r.proven,
          notProven: r.notProven,
          rewritten: r.rewrite.counts.rewritten,
          verifiedStale: r.verify.counts.stale,
          failures: r.failures.length,
        },
        notes: [
          ...(r.proven ? [] : r.notProven),
          ...(r.rewrite.expiredListings + r.verify.expiredListings > 0
            ? [
                `${r.rewrite.expiredListings + r.verify.expiredListings} listing(s) expired (410) and were resumed`,
              ]
            : []),
          ...(r.rewrite.throttled + r.verify.throttled > 0
            ? [`${r.rewrite.throttled + r.verify.throttled} writes throttled`]
            : []),
        ],
      },
      r.proven,
    );
  } finally {
    await worker.stop();
  }
}

function rawRow(
  kind: 'pool' | 'page-activity',
  scenario: Scenario,
  concurrency: number,
  shared: Shared,
): Promise<ContenderRow> {
  return onPreparedSandbox(scenario, shared.options, (prepared) =>
    rawContender(kind, scenario.size, concurrency, shared, prepared),
  );
}

async function rawContender(
  kind: 'pool' | 'page-activity',
  size: number,
  concurrency: number,
  shared: Shared,
  prepared: Prepared,
): Promise<ContenderRow> {
  const { info } = prepared;
  const raw: RawChild = startChild(RAW_FILE);
  try {
    // Loaded and listening: module loading is not part of the measurement.
    const rawBefore = await raw.runtimeStats();
    const t0 = performance.now();
    const r = await raw.call('run', {
      kind,
      kubeconfig: info.kubeconfig,
      concurrency,
      pageSize: shared.options.pageSize,
      maxQps: shared.options.maxQps,
    });
    const wallMs = performance.now() - t0;
    const rawStats = statsSince(rawBefore, await raw.runtimeStats());
    const failed = r.rewrite.counts.failed + r.verify.counts.failed;
    const notes = [
      ...(failed ? [`${failed} writes failed`] : []),
      ...(r.verify.counts.stale ? [`${r.verify.counts.stale} stale in its own verification`] : []),
    ];
    return finish(
      prepared,
      {
        contender:
          kind === 'pool'
            ? `raw pool (c=${concurrency})`
            : `processPage loop (c=${concurrency}, maxQps ${shared.options.maxQps || 'none'})`,
        wallMs,
        rewriteMs: r.rewrite.ms,
        secrets: size,
        bytes: info.estateBytes,
        processes: [processRow('client', rawStats)],
        notes,
      },
      failed === 0,
    );
  } finally {
    await raw.stop();
  }
}

async function runScenario(scenario: Scenario, shared: Shared): Promise<ContenderRow[]> {
  const rows: ContenderRow[] = [];
  const add = async (what: string, make: () => Promise<ContenderRow>) => {
    process.stdout.write(`  ${what} ... `);
    try {
      const row = await make();
      rows.push(row);
      console.log(`${(row.wallMs / 1000).toFixed(1)} s${row.complete ? '' : ' (INCOMPLETE)'}`);
    } catch (err) {
      console.log('FAILED');
      console.error(err);
      rows.push({
        contender: what,
        wallMs: NaN,
        secrets: scenario.size,
        bytes: 0,
        processes: [],
        complete: false,
        notes: [`run failed: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`],
      });
    }
  };
  for (const c of shared.options.contenders as Contender[]) {
    if (c === 'kubectl' && scenario.size <= shared.options.kubectlMaxSize)
      await add('kubectl', () => kubectlRow(scenario, shared));
    for (const concurrency of shared.options.concurrency) {
      if (c === 'kmsflow')
        await add(`kmsflow c=${concurrency}`, () => kmsflowRow(scenario, concurrency, shared));
      if (c === 'raw')
        await add(`raw pool c=${concurrency}`, () => rawRow('pool', scenario, concurrency, shared));
      if (c === 'page-activity')
        await add(`processPage loop c=${concurrency}`, () =>
          rawRow('page-activity', scenario, concurrency, shared),
        );
    }
  }
  return rows;
}

export async function main(argv: string[]): Promise<void> {
  if (argv.includes('--help')) {
    console.log(USAGE);
    return;
  }
  const options = parseOptions(argv);
  // The code this run uses is the code at its start.
  const startedFrom = provenance();
  const scenarios: Scenario[] = [];
  const apiServer = options.apiServer;
  if (!options.noZeroLatency)
    for (const size of options.sizes) scenarios.push({ size, latencyMs: 0, apiServer });
  if (options.latencyMs > 0)
    for (const size of options.sizes)
      if (size <= options.latencyMaxSize) scenarios.push({ size, latencyMs: options.latencyMs, apiServer });

  console.log(
    `reencrypt benchmark: ${new Date().toISOString()}, ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`,
  );
  console.log(`command: npm run bench -- reencrypt ${argv.join(' ')}`);
  const shared: Shared = { options };
  const tmp = mkdtempSync(join(tmpdir(), 'bench-reencrypt-'));
  try {
    if (options.contenders.includes('kmsflow')) {
      shared.temporal = await startDevServer({ readyTimeoutMs: 60_000 });
      shared.bundlePath = join(tmp, 'workflow-bundle.js');
      writeFileSync(shared.bundlePath, await buildWorkflowBundle());
    }
    const results: { scenario: Scenario; rows: ContenderRow[] }[] = [];
    for (const scenario of scenarios) {
      console.log(
        `\n${scenario.size} Secrets, ${scenario.latencyMs} ms added latency per request, ${apiServer} API server`,
      );
      const rows = await runScenario(scenario, shared);
      results.push({ scenario, rows });
      console.log(`\n${formatTable(scenario, rows)}`);
      const targets = formatTargets(scenario, rows);
      if (targets) console.log(`\n${targets}`);
    }
    for (const latencyMs of new Set(scenarios.map((x) => x.latencyMs))) {
      const scaling = formatScaling(scalingOf(results, latencyMs), cpus().length);
      if (scaling)
        console.log(`\nHow the cost grows with the estate, ${latencyMs} ms added latency\n\n${scaling}`);
    }
    if (options.jsonOut)
      writeFileSync(
        options.jsonOut,
        `${JSON.stringify({ ...startedFrom, argv, options, results }, null, 2)}\n`,
      );
  } finally {
    await shared.temporal?.stop();
    rmSync(tmp, { recursive: true, force: true });
  }
}
