/** One row per contender, printed as a Markdown table (the same text goes into docs/benchmarks.md). */
import type { HistoryStats } from './kmsflow-engine';
import type { EtcdCheck } from './sandbox-process';

export interface Scenario {
  size: number;
  latencyMs: number;
  /** Which API server served the cluster; result files from before the real one existed say nothing: emulated. */
  apiServer?: 'emulated' | 'real';
}

export const apiServerLabel = (scenario: Scenario) =>
  scenario.apiServer === 'real' ? 'real kube-apiserver + etcd + KMS v2 plugin' : 'emulated API server';

export interface ContenderProcess {
  name: string;
  peakRssMb: number;
  cpuS?: number;
  /** Main-thread time in garbage collection while the contender ran (Node processes). */
  gcS?: number;
  peakHeapMb?: number;
}

export interface ContenderRow {
  contender: string;
  wallMs: number;
  /** Time of the rewrite pass alone, where the contender has separate passes. */
  rewriteMs?: number;
  secrets: number;
  /** Decoded bytes of Secret data in the estate. */
  bytes: number;
  processes: ContenderProcess[];
  serverPeakRssMb?: number;
  /** CPU seconds the API server spent while the contender ran. */
  serverCpuS?: number;
  /** kmsflow: CPU seconds the Temporal server spent while the contender ran (it shares the machine's cores). */
  temporalCpuS?: number;
  history?: HistoryStats;
  proof?: {
    proven: boolean;
    notProven: string[];
    rewritten: number;
    verifiedStale: number;
    failures: number;
  };
  etcd?: EtcdCheck;
  /** Every Secret under the new key in the etcd view, and the contender reported success. */
  complete: boolean;
  notes: string[];
}

const s = (ms: number) => (ms / 1000).toFixed(1);

function etcdCell(row: ContenderRow): string {
  if (!row.etcd) return 'not checked';
  const stale = row.etcd.secrets - row.etcd.underNewKey;
  const where =
    stale === 0
      ? `all ${row.etcd.secrets} under new key`
      : `**${stale} of ${row.etcd.secrets} NOT under new key**`;
  return row.complete ? where : `${where}; **incomplete**`;
}

function historyCell(h: HistoryStats | undefined, secrets: number): string {
  if (!h) return '–';
  const max = Math.max(...h.eventsPerRun);
  return `${h.totalEvents} in ${h.runs} runs (max ${max}/run; ${Math.round((h.totalEvents / secrets) * 10_000)} per 10k Secrets)`;
}

export function formatTable(scenario: Scenario, rows: ContenderRow[]): string {
  const mb = rows[0] ? rows[0].bytes / 1e6 : 0;
  const lines = [
    `**${scenario.size.toLocaleString('en-US')} Secrets (${mb.toFixed(0)} MB of data), ${scenario.latencyMs} ms added per request, ${apiServerLabel(scenario)}**`,
    '',
    '| contender | wall s | rewrite pass s | Secrets/s | MB/s | client peak RSS MB | server peak RSS MB | Temporal history events | proof | etcd check |',
    '|---|---:|---:|---:|---:|---|---:|---|---|---|',
  ];
  for (const r of rows) {
    const ok = Number.isFinite(r.wallMs);
    const rate = ok ? Math.round(r.secrets / (r.wallMs / 1000)).toLocaleString('en-US') : '–';
    const mbs = ok ? (r.bytes / 1e6 / (r.wallMs / 1000)).toFixed(1) : '–';
    const rss = r.processes.map((p) => `${p.name} ${p.peakRssMb}`).join(', ') || '–';
    const proof = r.proof
      ? r.proof.proven
        ? 'proven'
        : `**not proven**: ${r.proof.notProven.join(' ')}`
      : '–';
    lines.push(
      `| ${r.contender.replace(/\|/g, '\\|')} | ${ok ? s(r.wallMs) : 'failed'} | ${r.rewriteMs !== undefined ? s(r.rewriteMs) : '–'} | ${rate} | ${mbs} | ${rss} | ${r.serverPeakRssMb ?? '–'} | ${historyCell(r.history, r.secrets)} | ${proof} | ${etcdCell(r)} |`,
    );
  }
  const notes = rows.filter((r) => r.notes.length).map((r) => `- ${r.contender}: ${r.notes.join('; ')}`);
  return [...lines, ...(notes.length ? ['', ...notes] : [])].join('\n');
}

/** One of issue-level targets of the re-encryption benchmark, measured within one scenario. */
export interface TargetCheck {
  target: string;
  measured: string;
  met: boolean;
}

const rateOf = (r: Pick<ContenderRow, 'secrets' | 'wallMs'>) => r.secrets / (r.wallMs / 1000);
const find = (rows: ContenderRow[], prefix: string) =>
  rows.find((r) => r.contender.startsWith(prefix) && Number.isFinite(r.wallMs));

/**
 * The targets a scenario's rows can show: kmsflow's throughput against the raw client and the kubectl
 * pipeline, its history, its worker's memory. A target whose contenders did not run is left out.
 */
export function targetChecks(scenario: Scenario, rows: ContenderRow[]): TargetCheck[] {
  const kmsflow = find(rows, 'kmsflow');
  if (!kmsflow) return [];
  const checks: TargetCheck[] = [];
  const raw = find(rows, 'raw pool');
  if (raw) {
    const share = rateOf(kmsflow) / rateOf(raw);
    checks.push({
      target: 'kmsflow ≥ 80 % of the raw client',
      measured: `${Math.round(share * 100)} % (${Math.round(rateOf(kmsflow))} vs ${Math.round(rateOf(raw))} Secrets/s)`,
      met: share >= 0.8,
    });
  }
  const kubectl = find(rows, 'kubectl');
  if (kubectl) {
    const wanted = scenario.latencyMs > 0 ? 3 : 1.5;
    const times = kubectl.wallMs / kmsflow.wallMs;
    checks.push({
      target: `kmsflow ≥ ${wanted}× the kubectl pipeline`,
      measured: `${times.toFixed(1)}× (${s(kmsflow.wallMs)} s vs ${s(kubectl.wallMs)} s)`,
      met: times >= wanted,
    });
  }
  if (kmsflow.history) {
    const maxRun = Math.max(...kmsflow.history.eventsPerRun);
    const per10k = (kmsflow.history.totalEvents / kmsflow.secrets) * 10_000;
    checks.push({ target: '≤ 200 history events per run', measured: `${maxRun}`, met: maxRun <= 200 });
    // Per 10,000 Secrets is a target for large estates: a run's fixed events dominate a small one.
    if (scenario.size >= 10_000)
      checks.push({
        target: '≤ 100 history events per 10,000 Secrets',
        measured: `${Math.round(per10k)}`,
        met: per10k <= 100,
      });
  }
  const worker = kmsflow.processes.find((p) => p.name === 'worker');
  if (worker)
    checks.push({
      target: 'worker peak RSS < 1 GB',
      measured: `${worker.peakRssMb} MB`,
      met: worker.peakRssMb < 1000,
    });
  return checks;
}

export function formatTargets(scenario: Scenario, rows: ContenderRow[]): string {
  const checks = targetChecks(scenario, rows);
  if (checks.length === 0) return '';
  return [
    '| target | measured | met |',
    '|---|---|---|',
    ...checks.map((c) => `| ${c.target} | ${c.measured} | ${c.met ? 'yes' : '**no**'} |`),
  ].join('\n');
}
