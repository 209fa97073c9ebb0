/**
 * How each contender's cost grows with the estate, from the scenarios of one run at one latency: time,
 * CPU and GC per Secret, memory, and the targets that span sizes (time per Secret from the smallest to
 * the largest size, the worker's memory). Printed by the benchmark and generated into docs/benchmarks.md.
 */
import type { ContenderRow, Scenario, TargetCheck } from './report';

export interface ScenarioRows {
  scenario: Scenario;
  rows: ContenderRow[];
}

/** One contender at one size; `estimated` when extrapolated from the sizes it ran at. */
export interface ScalingPoint {
  size: number;
  wallMs: number;
  usPerSecret: number;
  /** CPU of the contender's own processes per Secret (kmsflow: its worker and the Temporal server), and of the API server. */
  cpuUsPerSecret?: number;
  serverCpuUsPerSecret?: number;
  /** Main-thread GC pauses as a share of the CPU of the contender's Node processes. */
  gcShare?: number;
  peakRssMb: number;
  peakHeapMb?: number;
  expiredListings?: number;
  estimated: boolean;
}

export interface ContenderScaling {
  contender: string;
  points: ScalingPoint[];
  /** Time per Secret at the largest measured size ÷ at the smallest. */
  growth: number;
  /** Least-squares slope of the largest process's peak RSS over the measured sizes, in MB per 10,000 Secrets. */
  rssSlopeMbPer10k: number;
  /** A straight line through the measured wall times: a fixed cost per run plus a cost per Secret. */
  wallFit: { fixedS: number; usPerSecret: number };
}

/** Least-squares line through the points: y = intercept + slope · x. */
function fitLine(points: [number, number][]): { slope: number; intercept: number } {
  const n = points.length;
  const mx = points.reduce((a, [x]) => a + x, 0) / n;
  const my = points.reduce((a, [, y]) => a + y, 0) / n;
  const sxx = points.reduce((a, [x]) => a + (x - mx) ** 2, 0);
  const slope = sxx === 0 ? 0 : points.reduce((a, [x, y]) => a + (x - mx) * (y - my), 0) / sxx;
  return { slope, intercept: my - slope * mx };
}

function pointOf(size: number, row: ContenderRow): ScalingPoint {
  const largest = row.processes.reduce((a, p) => (p.peakRssMb > a.peakRssMb ? p : a), row.processes[0]!);
  const cpuS = row.processes.every((p) => p.cpuS !== undefined)
    ? row.processes.reduce((a, p) => a + p.cpuS!, 0) + (row.temporalCpuS ?? 0)
    : undefined;
  const gcS = row.processes.every((p) => p.gcS !== undefined)
    ? row.processes.reduce((a, p) => a + p.gcS!, 0)
    : undefined;
  const expired = row.notes.map((n) => /^(\d+) listing\(s\) expired/.exec(n)?.[1]).find(Boolean);
  return {
    size,
    wallMs: row.wallMs,
    usPerSecret: (row.wallMs * 1000) / size,
    ...(cpuS !== undefined ? { cpuUsPerSecret: (cpuS * 1e6) / size } : {}),
    ...(row.serverCpuS !== undefined ? { serverCpuUsPerSecret: (row.serverCpuS * 1e6) / size } : {}),
    // GC pauses against the CPU of the processes that collect (the Temporal server is not a Node process).
    ...(cpuS && gcS !== undefined ? { gcShare: gcS / (cpuS - (row.temporalCpuS ?? 0)) } : {}),
    peakRssMb: largest.peakRssMb,
    ...(largest.peakHeapMb !== undefined ? { peakHeapMb: largest.peakHeapMb } : {}),
    // Only kmsflow reports its listings.
    ...(row.proof ? { expiredListings: expired ? Number(expired) : 0 } : {}),
    estimated: false,
  };
}

/**
 * Per contender, its measured points at `latencyMs` (complete runs only), sorted by size; a contender
 * missing from the largest sizes gets estimated points there, linear in Secrets from its own measurements.
 */
export function scalingOf(results: ScenarioRows[], latencyMs: number): ContenderScaling[] {
  const scenarios = results.filter((r) => r.scenario.latencyMs === latencyMs);
  const sizes = [...new Set(scenarios.map((r) => r.scenario.size))].sort((a, b) => a - b);
  if (sizes.length < 2) return [];
  // A contender's name carries its settings (concurrency, rate cap): each setting is a series of its own.
  const byContender = new Map<string, ScalingPoint[]>();
  for (const { scenario, rows } of scenarios)
    for (const row of rows) {
      if (!row.complete || !Number.isFinite(row.wallMs) || row.processes.length === 0) continue;
      byContender.set(row.contender, [
        ...(byContender.get(row.contender) ?? []),
        pointOf(scenario.size, row),
      ]);
    }
  const out: ContenderScaling[] = [];
  for (const [contender, measured] of byContender) {
    measured.sort((a, b) => a.size - b.size);
    if (measured.length < 2) continue;
    const first = measured[0]!;
    const last = measured.at(-1)!;
    const rss = fitLine(measured.map((p) => [p.size, p.peakRssMb]));
    const wall = fitLine(measured.map((p) => [p.size, p.wallMs]));
    const estimated = sizes
      .filter((size) => size > last.size)
      .map((size): ScalingPoint => {
        const wallMs = wall.intercept + wall.slope * size;
        return {
          size,
          wallMs,
          usPerSecret: (wallMs * 1000) / size,
          peakRssMb: Math.round(rss.intercept + rss.slope * size),
          estimated: true,
        };
      });
    out.push({
      contender,
      points: [...measured, ...estimated],
      growth: last.usPerSecret / first.usPerSecret,
      rssSlopeMbPer10k: rss.slope * 10_000,
      wallFit: { fixedS: wall.intercept / 1000, usPerSecret: wall.slope * 1000 },
    });
  }
  return out;
}

/** The targets that span sizes: kmsflow's time per Secret grows < 1.3× and its worker stays under 1 GB. */
export function scalingChecks(scaling: ContenderScaling[]): TargetCheck[] {
  return scaling.filter((c) => c.contender.startsWith('kmsflow')).flatMap(seriesChecks);
}

/** The targets for one kmsflow series (one setting of concurrency and rate cap). */
function seriesChecks(kmsflow: ContenderScaling): TargetCheck[] {
  const measured = kmsflow.points.filter((p) => !p.estimated);
  const first = measured[0]!;
  const last = measured.at(-1)!;
  const range = `${first.size.toLocaleString('en-US')} → ${last.size.toLocaleString('en-US')} Secrets`;
  const largestRss = Math.max(...measured.map((p) => p.peakRssMb));
  return [
    {
      target: `${kmsflow.contender}: time per Secret grows < 1.3× (${range})`,
      measured: `${kmsflow.growth.toFixed(2)}× (${first.usPerSecret.toFixed(0)} → ${last.usPerSecret.toFixed(0)} µs)`,
      met: kmsflow.growth < 1.3,
    },
    {
      target: `${kmsflow.contender}: worker peak RSS < 1 GB at every size; slope (${range})`,
      measured: `${measured.map((p) => p.peakRssMb).join(' → ')} MB; ${kmsflow.rssSlopeMbPer10k.toFixed(1)} MB per 10,000 Secrets`,
      met: largestRss < 1000,
    },
  ];
}

const n = (x: number, digits = 0) =>
  x.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

const list = (values: number[], unit = '') => values.map((v) => n(v)).join(' → ') + unit;

/**
 * What the measurements say about one contender, as a sentence: its cost as a line (fixed + per Secret), its
 * CPU and the API server's against what the machine's cores can give, GC, memory per step, expired listings.
 */
function whereTheTimeGoes(c: ContenderScaling, cores: number): string {
  const measured = c.points.filter((p) => !p.estimated);
  const last = measured.at(-1)!;
  const parts = [
    `**${c.contender}**: wall time ≈ ${n(c.wallFit.fixedS, 1)} s + ${n(c.wallFit.usPerSecret)} µs per Secret (a line through ${measured.length} sizes), so its time per Secret goes ${list(
      measured.map((p) => p.usPerSecret),
      ' µs',
    )} (${c.growth.toFixed(2)}× from the smallest to the largest size)`,
  ];
  if (last.cpuUsPerSecret !== undefined && last.serverCpuUsPerSecret !== undefined) {
    const floor = (last.cpuUsPerSecret + last.serverCpuUsPerSecret) / cores;
    parts.push(
      `at ${n(last.size)} Secrets its processes and the API server spend ${n(last.cpuUsPerSecret)} + ${n(last.serverCpuUsPerSecret)} µs of CPU per Secret, at least ${n(floor)} µs of wall time on ${cores} cores kept busy: it took ${n(last.usPerSecret)} µs, ${(last.usPerSecret / floor).toFixed(2)}× that floor`,
    );
  }
  const gc = measured.map((p) => p.gcShare).filter((g): g is number => g !== undefined);
  if (gc.length)
    parts.push(
      `GC pauses ${list(
        gc.map((g) => g * 100),
        ' %',
      )} of its Node processes' CPU`,
    );
  const steps = measured
    .slice(1)
    .map((p, i) => ((p.peakRssMb - measured[i]!.peakRssMb) / (p.size - measured[i]!.size)) * 10_000);
  parts.push(
    `peak RSS ${list(
      measured.map((p) => p.peakRssMb),
      ' MB',
    )} (${steps.map((x) => `${x >= 0 ? '+' : ''}${n(x, 1)}`).join(', ')} MB per 10,000 Secrets between sizes; ${n(c.rssSlopeMbPer10k, 1)} over all)`,
  );
  const heaps = measured.map((p) => p.peakHeapMb).filter((h): h is number => h !== undefined);
  if (heaps.length) parts.push(`V8 heap peaks ${list(heaps, ' MB')}`);
  const expired = measured.map((p) => p.expiredListings).filter((e): e is number => e !== undefined);
  if (expired.length) parts.push(`${n(expired.reduce((a, e) => a + e, 0))} listing(s) expired (410) in all`);
  return `${parts.join('; ')}.`;
}

/** The scaling table and its targets as Markdown. */
export function formatScaling(scaling: ContenderScaling[], cores: number): string {
  if (scaling.length === 0) return '';
  const rows = scaling.flatMap((c) =>
    c.points.map((p) => {
      const est = p.estimated ? ' (estimate)' : '';
      return [
        p.estimated ? `${c.contender}, linear from its measured sizes` : c.contender,
        n(p.size),
        `${n(p.wallMs / 1000, 1)}${est}`,
        n(p.usPerSecret),
        p.cpuUsPerSecret !== undefined ? n(p.cpuUsPerSecret) : '–',
        p.gcShare !== undefined ? `${n(p.gcShare * 100)} %` : '–',
        p.serverCpuUsPerSecret !== undefined ? n(p.serverCpuUsPerSecret) : '–',
        `${n(p.peakRssMb)}${est}`,
        p.peakHeapMb !== undefined ? n(p.peakHeapMb) : '–',
        p.expiredListings !== undefined ? n(p.expiredListings) : '–',
      ];
    }),
  );
  const findings = scaling.map((c) => `- ${whereTheTimeGoes(c, cores)}`);
  const checks = scalingChecks(scaling);
  return [
    '| contender | Secrets | wall s | µs per Secret | CPU µs per Secret (its processes; for kmsflow also the Temporal server) | GC pauses of its Node CPU | API server CPU µs per Secret | peak RSS MB (largest process) | peak V8 heap MB | listings expired (410) |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...rows.map((r) => `| ${r.map((x) => x.replace(/\|/g, '\\|')).join(' | ')} |`),
    '',
    ...findings,
    ...(checks.length
      ? [
          '',
          '| target | measured | met |',
          '|---|---|---|',
          ...checks.map((c) => `| ${c.target} | ${c.measured} | ${c.met ? 'yes' : '**no**'} |`),
        ]
      : []),
  ].join('\n');
}
