/**
 * `npm run bench -- campaign [--clusters 300] [--secrets 100] [--workers 3] [--concurrency 30] [--stages 1]
 * [--windows 0] [--window-opens 120] [--blocked 0] [--json FILE]`: a rotate campaign over a sandbox fleet, through
 * real kmsflow processes (the sandbox, N workers, the CLI) on one Temporal dev server. `--windows 0.5`: half the
 * clusters have a maintenance window that opens `--window-opens` seconds after the bench starts; `--blocked 50`: 50 clusters whose identity
 * lacks the vault role (their procedures block at preflight, the budget absorbs them, and the bench cancels
 * them once every other cluster is done, as an operator would); `--stages 3`: 1 %, 10 % and the rest.
 * Prints wall time, clusters per minute, each worker's peak RSS, the campaign's events per run and the largest
 * state one run carried to the next; exits non-zero when a run exceeds 2,000 events or carries over 256 KB.
 */
import * as fs from 'node:fs';
import { parseArgs } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import { cancelUpdate, procedureWorkflowId } from '../../workflows/messages';
import type { ScenarioInput } from '../../sandbox/scenario';
import type { CampaignProgress } from '../../workflows/campaign-messages';
import { campaignWorkflowId } from '../../workflows/campaign-messages';
import { type CliWorld, startCliWorld } from '../../test/lifecycle/cli-world';
import { waitUntil } from '../../test/helpers/wait';
import { provenance } from '../provenance';
import { peakRssMb } from '../reencrypt/child-process';

const SUBSCRIPTION = '11111111-2222-4333-8444-555555555555';
const GROUPS = ['rg-fleet-a', 'rg-fleet-b', 'rg-fleet-c'];

export interface CampaignBenchResult {
  clusters: number;
  secretsPerCluster: number;
  workers: number;
  concurrency: number;
  wallSeconds: number;
  clustersPerMinute: number;
  proven: number;
  notProven: number;
  workerPeakRssMb: number[];
  history: { runs: number; eventsPerRun: number[] };
  stages?: number;
  /** Clusters with a maintenance window opening during the run, and clusters blocked on purpose. */
  windows?: number;
  blocked?: number;
  /** Most events in one run, and the largest state a run carried to the next (bytes of its input). */
  maxEventsPerRun?: number;
  maxCarriedBytes?: number;
}

/** The targets the campaign must hold at any size. */
const MAX_EVENTS_PER_RUN = 2_000;
const MAX_CARRIED_BYTES = 256 * 1024;

interface FleetShape {
  clusters: number;
  secrets: number;
  /** Share of clusters with a maintenance window, opening at `windowOpens`. */
  windows: number;
  windowOpens: Date;
  blocked: number;
}

const name = (i: number) => `aks-${String(i + 1).padStart(5, '0')}`;
/** Spread over the fleet, so that every stage has some. */
const isBlocked = (i: number, shape: FleetShape) =>
  shape.blocked > 0 &&
  i % Math.floor(shape.clusters / shape.blocked) === 0 &&
  i / Math.floor(shape.clusters / shape.blocked) < shape.blocked;
const hasWindow = (i: number, shape: FleetShape) =>
  shape.windows > 0 && i % Math.round(1 / shape.windows) === 1 % Math.round(1 / shape.windows);

/** A daily four-hour window from `opens` (UTC minutes). */
function windowFrom(opens: Date) {
  const hhmm = opens.toISOString().slice(11, 16);
  return {
    aksManagedAutoUpgradeSchedule: {
      maintenanceWindow: {
        schedule: { daily: { intervalDays: 1 } },
        durationHours: 4,
        startTime: hhmm,
        utcOffset: '+00:00',
      },
    },
  };
}

function fleet(shape: FleetShape): ScenarioInput {
  return {
    seed: 300,
    tenantId: '72f988bf-0000-4000-a000-00000000c0de',
    subscriptions: [
      { id: SUBSCRIPTION, resourceGroups: GROUPS.map((name) => ({ name, location: 'eastus' })) },
    ],
    principals: [{ name: 'operator', type: 'User' }],
    operator: 'operator',
    identities: [
      { name: 'id-kms', resourceGroup: GROUPS[0] },
      { name: 'id-norole', resourceGroup: GROUPS[0] },
    ],
    vaults: [
      {
        name: 'kv-fleet-bench',
        resourceGroup: GROUPS[0],
        enablePurgeProtection: true,
        keys: [{ name: 'fleet', versions: 1 }],
      },
    ],
    roleAssignments: [
      { role: 'Key Vault Crypto Officer', principal: 'operator', scope: 'vault:kv-fleet-bench' },
      { role: 'Key Vault Crypto User', principal: 'id-kms', scope: 'vault:kv-fleet-bench' },
    ],
    clusters: Array.from({ length: shape.clusters }, (_, i) => ({
      name: name(i),
      resourceGroup: GROUPS[i % GROUPS.length],
      identity: isBlocked(i, shape) ? 'id-norole' : 'id-kms',
      kms: { vault: 'kv-fleet-bench', key: 'fleet', version: 1, networkAccess: 'Public' as const },
      secrets: { count: shape.secrets, namespaces: 2, seed: i + 1, maxBytes: 2048 },
      ...(hasWindow(i, shape) ? { maintenanceConfigurations: windowFrom(shape.windowOpens) } : {}),
    })),
  };
}

export async function main(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      clusters: { type: 'string', default: '300' },
      secrets: { type: 'string', default: '100' },
      workers: { type: 'string', default: '3' },
      concurrency: { type: 'string', default: '30' },
      stages: { type: 'string', default: '1' },
      windows: { type: 'string', default: '0' },
      blocked: { type: 'string', default: '0' },
      'window-opens': { type: 'string', default: '120' },
      json: { type: 'string' },
    },
  });
  const clusters = Number(values.clusters);
  const secrets = Number(values.secrets);
  const workers = Number(values.workers);
  const concurrency = Number(values.concurrency);
  const stageCount = Number(values.stages);
  const shape: FleetShape = {
    clusters,
    secrets,
    windows: Number(values.windows),
    blocked: Number(values.blocked),
    // Whole minutes: AKS windows start on a minute.
    windowOpens: new Date(Math.ceil((Date.now() + Number(values['window-opens']) * 1000) / 60_000) * 60_000),
  };
  const stages =
    stageCount === 3
      ? [
          `first size=1% concurrency=${concurrency}`,
          `second size=10% concurrency=${concurrency}`,
          `rest concurrency=${concurrency}`,
        ]
      : [`all concurrency=${concurrency}`];
  const windowed = Array.from({ length: clusters }, (_, i) => i).filter((i) => hasWindow(i, shape)).length;
  const blocked = Array.from({ length: clusters }, (_, i) => i).filter((i) => isBlocked(i, shape));
  console.log(
    `campaign bench: ${clusters} clusters × ${secrets} Secrets, ${workers} workers, ${concurrency} at once, ` +
      `${stages.length} stage(s), ${windowed} with a window opening at ${shape.windowOpens.toISOString()}, ${blocked.length} blocked`,
  );

  const world: CliWorld = await startCliWorld({ scenario: fleet(shape) });
  try {
    for (let i = 1; i < workers; i++) await world.startExtraWorker();
    const started = await world.kmsflow([
      'campaign',
      'start',
      'rotate',
      '--subscription',
      SUBSCRIPTION,
      '--id',
      'bench',
      ...stages.flatMap((stage) => ['--stage', stage]),
      ...(shape.windows > 0 ? [] : ['--ignore-maintenance-windows']),
      '--max-failures',
      String(blocked.length),
      '--page-size',
      '100',
      '--propagation-wait',
      '0',
      '--poll-interval',
      '0.5',
    ]);
    if (started.code !== 0) throw new Error(`campaign start failed:\n${started.stdout}\n${started.stderr}`);
    const blockedIds = new Set(blocked.map((i) => name(i)));
    const settled = (p: CampaignProgress) =>
      p.clusters.every((c) =>
        blockedIds.has(c.name)
          ? c.status === 'blocked'
          : !['pending', 'running', 'waiting-window', 'waiting-busy', 'waiting-approval'].includes(c.status),
      );
    let progress = await waitUntil(
      () => world.kmsflowJson<CampaignProgress>(['campaign', 'status', 'bench']),
      (p) => {
        const done = p.clusters.filter(
          (c) => !['pending', 'running', 'waiting-window', 'waiting-busy'].includes(c.status),
        ).length;
        process.stdout.write(`\r  ${done} / ${p.clusters.length} clusters done, phase ${p.phase}   `);
        return p.clusters.length > 0 && (settled(p) || !!p.endedAt);
      },
      { what: 'every cluster to settle', timeoutMs: 6 * 3600_000, intervalMs: 5_000 },
    );
    const settledAt = Date.now();
    // The campaign ends once its procedures have: the operator cancels the blocked ones.
    if (!progress.endedAt && blocked.length > 0) await cancelProcedures(world.address, progress, blockedIds);
    progress = await waitUntil(
      () => world.kmsflowJson<CampaignProgress>(['campaign', 'status', 'bench']),
      (p) => !!p.endedAt,
      { what: 'the campaign to end', timeoutMs: 600_000, intervalMs: 2_000 },
    );
    process.stdout.write('\n');
    const workerPeakRssMb = world.workerPids().map((pid) => peakRssMb(pid));
    // Until every cluster the campaign could prove was proven (the blocked ones wait for their operator).
    const wallSeconds =
      (Math.min(settledAt, Date.parse(progress.endedAt!)) - Date.parse(progress.startedAt)) / 1000;
    const proven = progress.clusters.filter((c) => c.status === 'proven').length;
    const history = await historyPerRun(world.address, campaignWorkflowId('bench'));
    const result: CampaignBenchResult = {
      clusters,
      secretsPerCluster: secrets,
      workers,
      concurrency,
      wallSeconds: Math.round(wallSeconds * 10) / 10,
      clustersPerMinute: Math.round((proven / wallSeconds) * 60 * 10) / 10,
      proven,
      notProven: progress.clusters.length - proven,
      workerPeakRssMb,
      history: { runs: history.runs, eventsPerRun: history.eventsPerRun },
      stages: stages.length,
      windows: windowed,
      blocked: blocked.length,
      maxEventsPerRun: Math.max(...history.eventsPerRun),
      maxCarriedBytes: Math.max(0, ...history.inputBytes.slice(1)),
    };
    console.log(
      `wall ${result.wallSeconds} s, ${result.clustersPerMinute} clusters/min, ${proven} of ${progress.clusters.length} proven; ` +
        `worker peak RSS ${workerPeakRssMb.join(' / ')} MB; campaign history ${history.runs} run(s), at most ${result.maxEventsPerRun} events in one; ` +
        `largest carried state ${Math.round(result.maxCarriedBytes! / 1024)} KB`,
    );
    const missed = [
      ...(result.maxEventsPerRun! > MAX_EVENTS_PER_RUN
        ? [`a run had ${result.maxEventsPerRun} events (target ≤ ${MAX_EVENTS_PER_RUN})`]
        : []),
      ...(result.maxCarriedBytes! > MAX_CARRIED_BYTES
        ? [`a run carried ${result.maxCarriedBytes} bytes (target ≤ ${MAX_CARRIED_BYTES})`]
        : []),
    ];
    if (values.json) {
      fs.writeFileSync(
        values.json,
        `${JSON.stringify({ ...provenance(), benchmark: 'campaign', result }, null, 2)}\n`,
      );
      console.log(`wrote ${values.json}`);
    }
    if (missed.length > 0) {
      console.error(`target missed: ${missed.join('; ')}`);
      process.exitCode = 1;
    }
  } finally {
    await world.teardown();
  }
}

/** Cancels the procedures of the named clusters, as `kmsflow cancel` does. */
async function cancelProcedures(
  address: string,
  progress: CampaignProgress,
  names: Set<string>,
): Promise<void> {
  const connection = await Connection.connect({ address });
  try {
    const client = new Client({ connection, namespace: 'default' });
    await Promise.all(
      progress.clusters
        .filter((c) => names.has(c.name))
        .map((c) =>
          client.workflow.getHandle(procedureWorkflowId(c.clusterId)).executeUpdate(cancelUpdate, {
            args: [{ reason: 'blocked on purpose by the bench', requestedBy: 'bench' }],
          }),
        ),
    );
  } finally {
    await connection.close();
  }
}

/** Events in each run of the campaign, and the size of each run's input (what the run before carried). */
async function historyPerRun(
  address: string,
  workflowId: string,
): Promise<{ runs: number; eventsPerRun: number[]; inputBytes: number[] }> {
  const connection = await Connection.connect({ address });
  try {
    const client = new Client({ connection, namespace: 'default' });
    const runs: { runId: string; start: number }[] = [];
    for await (const info of client.workflow.list({ query: `WorkflowId = '${workflowId}'` }))
      runs.push({ runId: info.runId, start: info.startTime.getTime() });
    const runIds = runs.sort((a, b) => a.start - b.start).map((r) => r.runId);
    const eventsPerRun: number[] = [];
    const inputBytes: number[] = [];
    for (const runId of runIds) {
      const events = (await client.workflow.getHandle(workflowId, runId).fetchHistory()).events ?? [];
      eventsPerRun.push(events.length);
      const input = events[0]?.workflowExecutionStartedEventAttributes?.input?.payloads ?? [];
      inputBytes.push(input.reduce((sum, p) => sum + (p.data?.length ?? 0), 0));
    }
    return { runs: runIds.length, eventsPerRun, inputBytes };
  } finally {
    await connection.close();
  }
}
