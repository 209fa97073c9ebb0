/**
 * `npm run bench -- campaign [--clusters 300] [--secrets 100] [--workers 3] [--concurrency 30] [--json FILE]`:
 * a rotate campaign over a sandbox fleet, through real kmsflow processes (the sandbox, N workers, the CLI)
 * on one Temporal dev server. Prints the campaign's wall time, clusters per minute, each worker's peak RSS
 * and the campaign's history size per run; with --json, writes them with their provenance.
 */
import * as fs from 'node:fs';
import { parseArgs } from 'node:util';
import { Client, Connection } from '@temporalio/client';
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
}

function fleet(clusters: number, secrets: number): ScenarioInput {
  return {
    seed: 300,
    tenantId: '72f988bf-0000-4000-a000-00000000c0de',
    subscriptions: [
      { id: SUBSCRIPTION, resourceGroups: GROUPS.map((name) => ({ name, location: 'eastus' })) },
    ],
    principals: [{ name: 'operator', type: 'User' }],
    operator: 'operator',
    identities: [{ name: 'id-kms', resourceGroup: GROUPS[0] }],
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
    clusters: Array.from({ length: clusters }, (_, i) => ({
      name: `aks-${String(i + 1).padStart(4, '0')}`,
      resourceGroup: GROUPS[i % GROUPS.length],
      identity: 'id-kms',
      kms: { vault: 'kv-fleet-bench', key: 'fleet', version: 1, networkAccess: 'Public' as const },
      secrets: { count: secrets, namespaces: 2, seed: i + 1, maxBytes: 2048 },
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
      json: { type: 'string' },
    },
  });
  const clusters = Number(values.clusters);
  const secrets = Number(values.secrets);
  const workers = Number(values.workers);
  const concurrency = Number(values.concurrency);
  console.log(
    `campaign bench: ${clusters} clusters × ${secrets} Secrets, ${workers} workers, ${concurrency} at once`,
  );

  const world: CliWorld = await startCliWorld({ scenario: fleet(clusters, secrets) });
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
      '--stage',
      `all concurrency=${concurrency}`,
      '--ignore-maintenance-windows',
      '--page-size',
      '100',
      '--propagation-wait',
      '0',
      '--poll-interval',
      '0.5',
    ]);
    if (started.code !== 0) throw new Error(`campaign start failed:\n${started.stdout}\n${started.stderr}`);
    const progress = await waitUntil(
      () => world.kmsflowJson<CampaignProgress>(['campaign', 'status', 'bench']),
      (p) => {
        const done = p.clusters.filter(
          (c) => !['pending', 'running', 'waiting-window'].includes(c.status),
        ).length;
        process.stdout.write(`\r  ${done} / ${p.clusters.length} clusters done, phase ${p.phase}   `);
        return p.phase === 'completed' || p.phase === 'halted' || p.phase === 'cancelled';
      },
      { what: 'the campaign to end', timeoutMs: 3 * 3600_000, intervalMs: 5_000 },
    );
    process.stdout.write('\n');
    const workerPeakRssMb = world.workerPids().map((pid) => peakRssMb(pid));
    const wallSeconds = (Date.parse(progress.endedAt!) - Date.parse(progress.startedAt)) / 1000;
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
      history,
    };
    console.log(
      `wall ${result.wallSeconds} s, ${result.clustersPerMinute} clusters/min, ${proven} of ${progress.clusters.length} proven; ` +
        `worker peak RSS ${workerPeakRssMb.join(' / ')} MB; campaign history ${history.eventsPerRun.join(' + ')} events in ${history.runs} run(s)`,
    );
    if (values.json) {
      fs.writeFileSync(
        values.json,
        `${JSON.stringify({ ...provenance(), benchmark: 'campaign', result }, null, 2)}\n`,
      );
      console.log(`wrote ${values.json}`);
    }
  } finally {
    await world.teardown();
  }
}

/** Events in each run of the campaign (it continues as new at stage boundaries when its history grows). */
async function historyPerRun(
  address: string,
  workflowId: string,
): Promise<{ runs: number; eventsPerRun: number[] }> {
  const connection = await Connection.connect({ address });
  try {
    const client = new Client({ connection, namespace: 'default' });
    const runIds: string[] = [];
    for await (const info of client.workflow.list({ query: `WorkflowId = '${workflowId}'` }))
      runIds.push(info.runId);
    const eventsPerRun: number[] = [];
    for (const runId of runIds.reverse())
      eventsPerRun.push(
        (await client.workflow.getHandle(workflowId, runId).fetchHistory()).events?.length ?? 0,
      );
    return { runs: runIds.length, eventsPerRun };
  } finally {
    await connection.close();
  }
}
