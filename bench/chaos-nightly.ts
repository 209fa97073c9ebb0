/**
 * The nightly-size reliability run: the chaos test with more rounds (each round runs the six procedures
 * and kills the worker KILLS times at seeded points), then the fault matrix and the bad-input table, and
 * the figures they measured. Usage:
 *   npx tsx bench/chaos-nightly.ts [--rounds 8] [--kills 6] [--seed N] [--secrets 120] [--out file.json]
 * The CI-size run is part of `npm test` (one round, six kills).
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '8' },
    kills: { type: 'string', default: '6' },
    seed: { type: 'string', default: String(Date.now() % 1_000_000_000) },
    secrets: { type: 'string', default: '120' },
    out: { type: 'string', default: path.resolve('.cache', 'reliability-nightly.json') },
  },
});

fs.mkdirSync(path.dirname(values.out), { recursive: true });
fs.rmSync(values.out, { force: true });
const started = Date.now();
const run = spawnSync(
  path.resolve('node_modules', '.bin', 'vitest'),
  ['run', 'test/reliability/chaos.test.ts', 'test/reliability/faults.test.ts', 'test/reliability/bad-inputs.test.ts', 'test/reliability/payload-codec.test.ts'],
  {
    stdio: 'inherit',
    env: {
      ...process.env,
      KMSFLOW_CHAOS_ROUNDS: values.rounds,
      KMSFLOW_CHAOS_KILLS: values.kills,
      KMSFLOW_CHAOS_SEED: values.seed,
      KMSFLOW_CHAOS_SECRETS: values.secrets,
      KMSFLOW_RELIABILITY_FIGURES: values.out,
    },
  },
);

const figures = fs.existsSync(values.out) ? (JSON.parse(fs.readFileSync(values.out, 'utf8')) as Record<string, Record<string, unknown>>) : {};
const chaos = figures['chaos-nightly'] ?? figures.chaos ?? {};
const faults = figures.faults ?? {};
const bad = figures['bad-inputs'] ?? {};
console.log(`\nReliability figures (seed ${values.seed}, ${Math.round((Date.now() - started) / 1000)} s, written to ${values.out}):`);
console.log(`  procedure runs under chaos   ${String(chaos.procedureRuns ?? '-')}`);
console.log(`  worker kills survived        ${String(chaos.workerKills ?? '-')}  ${JSON.stringify(chaos.killTriggers ?? {})}`);
console.log(`  kills per procedure          ${JSON.stringify(chaos.perProcedure ?? {})}`);
console.log(`  dev server / sandbox restarts ${String(chaos.devServerRestarts ?? '-')} / ${String(chaos.sandboxRestarts ?? '-')}`);
console.log(`  fault runs                   ${String(faults.runs ?? '-')}  kinds: ${JSON.stringify(faults.faultKinds ?? [])}`);
console.log(`  bad inputs tried             ${String(bad.tried ?? '-')}`);
console.log(`  Secrets lost                 ${String(chaos.secretsLost ?? '-')} of ${String(chaos.secretsChecked ?? '-')}`);
console.log(`  history / log hits           ${String(chaos.historyHits ?? '-')} / ${String(chaos.workerLogHits ?? '-')}`);
process.exit(run.status ?? 1);
