/**
 * Generates every figure table of docs/reliability.md and docs/benchmarks.md from the result files in
 * bench/results/, between `<!-- generated:NAME -->` and `<!-- /generated:NAME -->` markers. Usage:
 *   npm run docs:figures            # rewrite the docs
 *   npm run docs:figures -- --check # exit 1 if a doc differs from what its result files give
 * test/docs-figures.test.ts runs the check, so a doc table can not drift from its result file.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { formatScaling, scalingOf, type ScenarioRows } from './reencrypt/scaling';
import { apiServerLabel, targetChecks, type ContenderRow, type Scenario } from './reencrypt/report';
import { RULES } from '../model/rules';
import { PROCEDURES as PROCEDURE_LIST } from '../workflows/procedures';

const ROOT = path.resolve(__dirname, '..');
const RESULTS = path.join(ROOT, 'bench', 'results');
const PROCEDURES = ['enable', 'rotate', 'retire', 'disable', 'switch-mode', 'migrate-v2'] as const;

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const num = (n: unknown) => (typeof n === 'number' ? n.toLocaleString('en-US') : '–');
const seconds = (ms: number) =>
  (ms / 1000).toLocaleString('en-US', { maximumFractionDigits: 1, minimumFractionDigits: 1 });
const kb = (bytes: number) => `${Math.round(bytes / 1024).toLocaleString('en-US')} kB`;
/** A table cell: a pipe inside it would end the cell. */
const cell = (text: string) => text.replace(/\|/g, '\\|');
const table = (header: string[], rows: string[][], align?: string[]) =>
  [
    `| ${header.join(' | ')} |`,
    `|${(align ?? header.map(() => '---')).join('|')}|`,
    ...rows.map((r) => `| ${r.map(cell).join(' | ')} |`),
  ].join('\n');

function readResult(file: string): Json | undefined {
  const full = path.join(RESULTS, file);
  return fs.existsSync(full) ? (JSON.parse(fs.readFileSync(full, 'utf8')) as Json) : undefined;
}

function runLine(r: Json): string {
  const dirty = r.uncommittedChanges ? ' plus uncommitted changes' : '';
  return `${r.size} size: ${r.date.slice(0, 10)}, commit ${r.commit}${dirty}, seed ${r.seed}, ${r.machine.cpus} × ${r.machine.cpuModel}, ${r.machine.memoryGiB} GiB, Node ${r.machine.node}, ${num(r.wallSeconds)} s in all (\`bench/results/reliability-${r.size}.json\`)`;
}

const stayedBlocked = (c: Json) => {
  const runs = (c.stayedBlocked ?? []) as Json[];
  return runs.length === 0
    ? '0'
    : `${runs.length}: ${runs.map((b) => `${b.run} at \`${b.step}\` (\`${b.code}\`)`).join('; ')}`;
};

/** The main reliability table: one column per committed size. */
function reliabilityFigures(runs: Json[]): string {
  const col = (pick: (s: Json) => string) => runs.map((r) => pick(r.sections));
  const chaos = (f: (c: Json) => string) => col((s) => (s.chaos ? f(s.chaos) : '–'));
  const faults = (f: (c: Json) => string) => col((s) => (s.faults ? f(s.faults) : '–'));
  const perProcedure = (c: Json, key: string) =>
    PROCEDURES.map((p) => num(c.perProcedure?.[p]?.[key])).join(' / ');
  const rows: [string, string[]][] = [
    ['procedure runs under chaos (all six procedures)', chaos((c) => num(c.procedureRuns))],
    [
      'worker processes killed with SIGKILL (by trigger)',
      chaos(
        (c) =>
          `${num(c.workerKills)} (${Object.entries(c.killTriggers ?? {})
            .map(([k, n]) => `${k} ${num(n)}`)
            .join(', ')})`,
      ),
    ],
    [
      'kills with work in flight, per procedure (enable / rotate / retire / disable / switch-mode / migrate-v2); asserted minimum',
      chaos((c) => `${perProcedure(c, 'kills')}; ≥ ${num(c.minKillsPerProcedure)}`),
    ],
    ['of those, inside an ARM long-running operation', chaos((c) => perProcedure(c, 'insideArmOperation'))],
    ['of those, in the middle of a re-encryption page', chaos((c) => perProcedure(c, 'midPage'))],
    [
      'Temporal dev server restarts: clean (SIGTERM) / killed (SIGKILL)',
      chaos((c) => `${num(c.devServerRestarts)} / ${num(c.devServerKills)}`),
    ],
    [
      'sandbox restarts: clean / crashed (unsaved changes lost)',
      chaos((c) => `${num(c.sandboxRestarts)} / ${num(c.sandboxCrashes)}`),
    ],
    ['procedure runs completed and proven', chaos((c) => `${num(c.completed)} of ${num(c.procedureRuns)}`)],
    [
      'blocks met, each with a reason and a fix (the test then sends `retry`, up to 3 times per step)',
      chaos((c) => num((c.blockedThenRetried ?? []).length)),
    ],
    [
      'procedure runs still blocked after 3 retries (only after a sandbox crash lost state), with their reason',
      chaos((c) => stayedBlocked(c)),
    ],
    ['ARM or Key Vault mutations sent twice', chaos((c) => num(c.duplicatedMutations))],
    [
      'Secrets checked in the etcd view at the end / **lost** (unreadable or under the wrong key)',
      chaos((c) => `${num(c.secretsChecked)} / **${num(c.secretsLost)}**`),
    ],
    [
      'fault runs / fault kinds seen firing',
      faults((f) => `${num(f.runs)} / ${num(f.faultKindsObserved?.length)}`),
    ],
    [
      'fault runs completed without blocking / blocked with reason and fix, completed after `retry`',
      faults((f) => `${num(f.completedWithoutBlocking?.length)} / ${num(f.blockedThenRetried?.length)}`),
    ],
    ['bad inputs tried, each refused before any change', col((s) => num(s['bad-inputs']?.tried))],
    [
      'Secret values searched (estate, binary, UTF-8, short) / search patterns',
      chaos((c) => `${num(c.secretValuesSeeded)} / ${num(c.scanPatterns)}`),
    ],
    [
      'chaos: history runs / events scanned; live polls of descriptions and queries',
      chaos((c) => `${num(c.historyRunsScanned)} / ${num(c.historyEventsScanned)}; ${num(c.liveViewPolls)}`),
    ],
    [
      'chaos: bytes searched in history / descriptions / queries / worker logs (DEBUG)',
      chaos((c) =>
        ['history', 'describe', 'query', 'worker-log']
          .map((ch) => kb(c.scanned?.[ch]?.bytes ?? 0))
          .join(' / '),
      ),
    ],
    [
      'planted leaks found in their channel (chaos + faults; one per channel each) / **other Secret values found**',
      col(
        (s) =>
          `${num(s.chaos?.scanFindings?.planted)} + ${num(s.faults?.scanFindings?.planted)} / **${num((s.chaos?.scanFindings?.other ?? 0) + (s.faults?.scanFindings?.other ?? 0))}**`,
      ),
    ],
    [
      'payloads in history with the payload codec on / unencrypted (search attributes aside)',
      col(
        (s) =>
          `${num(s['payload-codec']?.payloadsInHistory)} / ${num(s['payload-codec']?.payloadsUnencrypted)}`,
      ),
    ],
  ];
  return [
    table(
      ['', ...runs.map((r) => `${r.size} size`)],
      rows.map(([label, values]) => [label, ...values]),
      ['---', ...runs.map(() => '---')],
    ),
    '',
    ...runs.map((r) => `- ${runLine(r)}.`),
  ].join('\n');
}

/** What each fault run met, the engine counters it moved, and how it ended. */
function faultRuns(run: Json): string {
  const f = run.sections.faults as Json | undefined;
  if (!f) return '_No fault figures in this result file._';
  const fixes = new Map<string, string>((f.blockedThenRetried ?? []).map((b: Json) => [b.run, b.fix]));
  const counts = (o: Json) =>
    Object.entries(o ?? {})
      .map(([k, n]) => `${k} ×${num(n)}`)
      .join(', ') || '–';
  return table(
    ['run', 'procedure', 'faults met (times)', 'engine counters', 'outcome'],
    (f.perRun as Json[]).map((r) => [
      r.run,
      r.procedure,
      counts(r.faultsMet),
      counts(r.engineCounters),
      r.blocked
        ? `blocked at \`${r.blocked.step}\`: \`${r.blocked.code}\`, fix "${fixes.get(r.run) ?? ''}"; completed after \`retry\``
        : 'completed',
    ]),
  );
}

/** How long each chaos procedure took to complete (kills add timeouts), from the CI run. */
function recovery(run: Json): string {
  const c = run.sections.chaos as Json | undefined;
  if (!c) return '_No chaos figures in this result file._';
  const blocks = (c.blockedThenRetried ?? []) as Json[];
  return [
    table(
      [
        'procedure',
        'kills with work in flight',
        'inside an ARM operation',
        'mid-page',
        'seconds from start to completion',
      ],
      PROCEDURES.map((p) => [
        p,
        num(c.perProcedure?.[p]?.kills),
        num(c.perProcedure?.[p]?.insideArmOperation),
        num(c.perProcedure?.[p]?.midPage),
        num(c.secondsToComplete?.[`${p}#0`]),
      ]),
      ['---', '---:', '---:', '---:', '---:'],
    ),
    '',
    blocks.length === 0
      ? 'No procedure blocked in this run.'
      : `Blocked and retried in this run: ${blocks.map((b) => `${b.run} at \`${b.step}\` (\`${b.code}\`: ${b.message})`).join('; ')}.`,
  ].join('\n');
}

/** The campaign benchmark: one row per result file (`campaign-*.json`). */
function campaignResults(): string {
  const files = fs
    .readdirSync(RESULTS)
    .filter((f) => f.startsWith('campaign-') && f.endsWith('.json'))
    .sort();
  if (files.length === 0)
    return '_No campaign result file yet: run `npm run bench -- campaign --json bench/results/campaign-300.json`._';
  const rows = files.map((file) => {
    const r = readResult(file)!;
    const c = r.result as Json;
    const events = c.history.eventsPerRun as number[];
    const shape = [
      `${num(c.stages ?? 1)} stage(s)`,
      ...(c.windows ? [`${num(c.windows)} waiting for a window`] : []),
      ...(c.blocked ? [`${num(c.blocked)} blocked`] : []),
    ].join(', ');
    return [
      `${num(c.clusters)} × ${num(c.secretsPerCluster)}`,
      shape,
      num(c.workers),
      num(c.concurrency),
      `${num(c.wallSeconds)} s`,
      num(c.clustersPerMinute),
      `${num(c.proven)} of ${num(c.clusters)}`,
      `${(c.workerPeakRssMb as number[]).map(num).join(' / ')} MB`,
      `${num(c.history.runs)} run(s), at most ${num(Math.max(...events))} events`,
      c.maxCarriedBytes === undefined ? '–' : `${num(Math.round(c.maxCarriedBytes / 1024))} KB`,
      `${r.date.slice(0, 10)}, commit ${r.commit}${r.uncommittedChanges ? ' plus uncommitted changes' : ''}, ${r.machine.cpus} × ${r.machine.cpuModel} (\`bench/results/${file}\`)`,
    ];
  });
  return table(
    [
      'clusters × Secrets',
      'campaign',
      'workers',
      'at once',
      'wall time',
      'clusters / min',
      'proven',
      'worker peak RSS',
      'campaign history',
      'largest carried state',
      'run',
    ],
    rows,
  );
}

/** One table per re-encryption benchmark result file. */
function benchmarkResults(): string {
  const files = fs
    .readdirSync(RESULTS)
    .filter((f) => f.startsWith('reencrypt-') && f.endsWith('.json'))
    .sort();
  return files
    .map((file) => {
      const r = readResult(file)!;
      const rows = (r.results as Json[]).flatMap((scenario) =>
        (scenario.rows as Json[]).map((row) => {
          const peak = Math.max(...((row.processes ?? []) as Json[]).map((p) => p.peakRssMb as number));
          const events = row.history
            ? `${num(row.history.totalEvents)} in ${num(row.history.runs)} run(s), max ${num(Math.max(...(row.history.eventsPerRun as number[])))}`
            : '–';
          return [
            num(scenario.scenario.size),
            `${num(scenario.scenario.latencyMs)} ms`,
            row.contender,
            seconds(row.wallMs),
            num(Math.round(row.secrets / (row.wallMs / 1000))),
            `${num(peak)} MB`,
            events,
            row.complete ? 'all under the new key' : '**incomplete**',
          ];
        }),
      );
      const from = r.commit
        ? `, commit ${r.commit}${r.uncommittedChanges ? ' plus uncommitted changes' : ''}, ${r.machine.cpus} × ${r.machine.cpuModel}, Node ${r.machine.node}`
        : '';
      const targets = (r.results as Json[]).flatMap((scenario) => {
        const checks = targetChecks(scenario.scenario as Scenario, scenario.rows as ContenderRow[]);
        return checks.map((c) => [
          num(scenario.scenario.size),
          `${num(scenario.scenario.latencyMs)} ms`,
          c.target,
          c.measured,
          c.met ? 'yes' : '**no**',
        ]);
      });
      return [
        `**\`bench/results/${file}\`** (${[...new Set((r.results as Json[]).map((x) => apiServerLabel(x.scenario as Scenario)))].join(', ')}) — recorded ${r.date.slice(0, 10)}${from} with \`npm run bench -- reencrypt ${(r.argv as string[]).join(' ')}\``,
        '',
        table(
          [
            'Secrets',
            'added latency',
            'contender',
            'wall s',
            'Secrets/s',
            'peak RSS (largest process)',
            'history events',
            'etcd check',
          ],
          rows,
          ['---:', '---:', '---', '---:', '---:', '---:', '---:', '---'],
        ),
        ...(targets.length
          ? [
              '',
              table(['Secrets', 'added latency', 'target', 'measured', 'met'], targets, [
                '---:',
                '---:',
                '---',
                '---',
                '---',
              ]),
            ]
          : []),
      ].join('\n');
    })
    .join('\n\n');
}

interface ScenarioResult {
  file: string;
  run: Json;
  scenario: Scenario;
  rows: ContenderRow[];
}

function reencryptScenarios(): ScenarioResult[] {
  return fs
    .readdirSync(RESULTS)
    .filter((f) => f.startsWith('reencrypt-') && f.endsWith('.json'))
    .sort()
    .flatMap((file) => {
      const run = readResult(file)!;
      return (run.results as Json[]).map((r) => ({
        file,
        run,
        scenario: r.scenario as Scenario,
        rows: r.rows as ContenderRow[],
      }));
    });
}

/** The contender's kind, the same across result files whatever its settings: kubectl, kmsflow, raw, processPage. */
const contenderKind = (row: ContenderRow) => row.contender.split(/[ (]/)[0]!;

/**
 * The README's figures: each scenario measured on the real kube-apiserver, with the emulated API
 * server's figures for the same size and latency alongside.
 */
function readmePerformance(): string {
  const all = reencryptScenarios();
  const real = all.filter((s) => s.scenario.apiServer === 'real');
  if (real.length === 0)
    return '_No result file from the real kube-apiserver yet: run `npm run bench -- reencrypt --real-apiserver`._';
  const rate = (r: ContenderRow | undefined) =>
    r && r.complete && Number.isFinite(r.wallMs) ? num(Math.round(r.secrets / (r.wallMs / 1000))) : '–';
  const wall = (r: ContenderRow | undefined) => (r && Number.isFinite(r.wallMs) ? seconds(r.wallMs) : '–');
  const sources = new Set<string>();
  const rows = real.flatMap((onReal) => {
    const { size, latencyMs } = onReal.scenario;
    const emulated = all.find(
      (s) =>
        s.scenario.apiServer !== 'real' && s.scenario.size === size && s.scenario.latencyMs === latencyMs,
    );
    sources.add(onReal.file);
    if (emulated) sources.add(emulated.file);
    return onReal.rows.map((row) => {
      const twin = emulated?.rows.find((e) => contenderKind(e) === contenderKind(row));
      return [
        num(size),
        `${num(latencyMs)} ms`,
        row.contender,
        wall(row),
        rate(row),
        row.complete ? 'yes' : '**no**',
        wall(twin),
        rate(twin),
      ];
    });
  });
  const provenance = [...sources].map((file) => {
    const r = readResult(file)!;
    return `\`bench/results/${file}\` (${r.date.slice(0, 10)}, commit ${r.commit})`;
  });
  return [
    table(
      [
        'Secrets',
        'added latency',
        'contender',
        'real kube-apiserver: wall s',
        'Secrets/s',
        'all under the new key in etcd',
        'emulated API server: wall s',
        'Secrets/s',
      ],
      rows,
      ['---:', '---:', '---', '---:', '---:', '---', '---:', '---:'],
    ),
    '',
    `From ${provenance.join(' and ')}; one run each on ${real[0]!.run.machine.cpus} × ${real[0]!.run.machine.cpuModel}. Every scenario, its targets and memory: [docs/benchmarks.md](docs/benchmarks.md).`,
  ].join('\n');
}

/** How the cost grows with the estate: the scaling result file's table and targets, per latency. */
function scalingResults(): string {
  const file = 'reencrypt-scaling.json';
  const r = readResult(file);
  if (!r)
    return '_No scaling result file yet: run `npm run bench -- reencrypt --sizes 10000,50000,100000 --latency-ms 0 --kubectl-max-size 50000 --json bench/results/reencrypt-scaling.json`._';
  const results = r.results as ScenarioRows[];
  const latencies = [...new Set(results.map((x) => x.scenario.latencyMs))];
  return [
    `From **\`bench/results/${file}\`** — recorded ${r.date.slice(0, 10)}, commit ${r.commit}${r.uncommittedChanges ? ' plus uncommitted changes' : ''}, ${r.machine.cpus} × ${r.machine.cpuModel}, Node ${r.machine.node}, one run, with \`npm run bench -- reencrypt ${(r.argv as string[]).join(' ')}\``,
    ...latencies.flatMap((latencyMs) => [
      '',
      `${num(latencyMs)} ms added latency:`,
      '',
      formatScaling(scalingOf(results, latencyMs), r.machine.cpus as number),
    ]),
  ].join('\n');
}

/** Every generated block, per doc. */
export function generatedBlocks(): Record<string, Record<string, string>> {
  const ci = readResult('reliability-ci.json');
  const nightly = readResult('reliability-nightly.json');
  const runs = [ci, nightly].filter((r): r is Json => !!r);
  return {
    'docs/reliability.md': {
      figures: runs.length
        ? reliabilityFigures(runs)
        : '_No reliability result files yet: run `npm run reliability`._',
      faults: ci ? faultRuns(ci) : '_No CI-size result file yet._',
      recovery: ci ? recovery(ci) : '_No CI-size result file yet._',
    },
    'docs/benchmarks.md': {
      results: benchmarkResults(),
      scaling: scalingResults(),
      campaign: campaignResults(),
    },
    'README.md': { performance: readmePerformance() },
    'docs/procedures.md': { rules: ruleTable() },
  };
}

/** Every preflight rule from its registry: code, severity, the line it enforces, when it fires, who applies it. */
function ruleTable(): string {
  const rows = RULES.map((rule) => {
    const users = PROCEDURE_LIST.filter((p) => p.definition.rules.includes(rule.code)).map(
      (p) => p.definition.command,
    );
    return [
      `\`${rule.code}\``,
      rule.severity,
      rule.source,
      rule.when,
      users.length === PROCEDURE_LIST.length ? 'all' : users.join(', ') || '—',
    ];
  });
  return table(['code', 'severity', 'enforces', 'when', 'procedures'], rows);
}

/** The doc with its generated blocks replaced; throws when a block's markers are missing. */
export function regenerate(doc: string, text: string, blocks: Record<string, string>): string {
  let out = text;
  for (const [name, content] of Object.entries(blocks)) {
    const open = `<!-- generated:${name} -->`;
    const close = `<!-- /generated:${name} -->`;
    const start = out.indexOf(open);
    const end = out.indexOf(close);
    if (start < 0 || end < start) throw new Error(`${doc} has no ${open} … ${close} block`);
    out = `${out.slice(0, start + open.length)}\n${content}\n${out.slice(end)}`;
  }
  return out;
}

function main(): void {
  const check = process.argv.includes('--check');
  let stale = 0;
  for (const [doc, blocks] of Object.entries(generatedBlocks())) {
    const file = path.join(ROOT, doc);
    const text = fs.readFileSync(file, 'utf8');
    const next = regenerate(doc, text, blocks);
    if (next === text) continue;
    if (check) {
      stale++;
      console.error(`${doc} differs from its result files: run \`npm run docs:figures\`.`);
    } else {
      fs.writeFileSync(file, next);
      console.log(`${doc} regenerated.`);
    }
  }
  process.exit(stale ? 1 : 0);
}

if (require.main === module) main();
