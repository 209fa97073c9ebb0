/**
 * Runs the reliability suite at a size and commits its figures: the chaos test (worker kills, dev server
 * and sandbox restarts and crashes), the fault matrix, the bad-input table, the payload codec and the
 * Secret scan, then writes what they measured, with the run's date, commit, machine and seed, to
 * bench/results/reliability-<size>.json. docs/reliability.md is generated from those files
 * (`npm run docs:figures`). Usage:
 *   npm run reliability -- --size ci|nightly [--seed N] [--out file.json]
 * ci is what the test suites run (one chaos round, in `npm run test:long`); nightly runs eight rounds and
 * asserts at least 20 kills per procedure with work in flight.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { provenance } from './provenance';
import { parseArgs } from 'node:util';

export const SIZES = {
  ci: { rounds: 1, kills: 6, minKills: 2, secrets: 120, seed: 20_261_128 },
  nightly: { rounds: 8, kills: 6, minKills: 20, secrets: 120, seed: 4242 },
} as const;
export type Size = keyof typeof SIZES;

/** The reliability test files, by the vitest config that includes them (chaos runs for minutes: test:long). */
const RELIABILITY_FILES = [
  { config: 'vitest.long.config.mts', files: ['test/long/chaos.test.ts'] },
  {
    config: 'vitest.config.mts',
    files: [
      'test/reliability/faults.test.ts',
      'test/reliability/bad-inputs.test.ts',
      'test/reliability/payload-codec.test.ts',
      'test/reliability/secret-scan.test.ts',
    ],
  },
];

export const resultFile = (size: Size) => path.resolve(__dirname, 'results', `reliability-${size}.json`);

function main(): void {
  const { values } = parseArgs({
    options: { size: { type: 'string', default: 'ci' }, seed: { type: 'string' }, out: { type: 'string' } },
  });
  if (!(values.size! in SIZES))
    throw new Error(`--size must be one of ${Object.keys(SIZES).join(', ')}, not ${values.size}`);
  const size = values.size as Size;
  const preset = SIZES[size];
  const seed = Number(values.seed ?? preset.seed);
  const out = values.out ?? resultFile(size);
  const figures = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'kmsflow-reliability-')), 'figures.json');

  const started = Date.now();
  const env = {
    ...process.env,
    KMSFLOW_CHAOS_ROUNDS: String(preset.rounds),
    KMSFLOW_CHAOS_KILLS: String(preset.kills),
    KMSFLOW_CHAOS_MIN_KILLS: String(preset.minKills),
    KMSFLOW_CHAOS_SECRETS: String(preset.secrets),
    KMSFLOW_CHAOS_SEED: String(seed),
    KMSFLOW_RELIABILITY_FIGURES: figures,
  };
  for (const { config, files } of RELIABILITY_FILES) {
    const run = spawnSync(
      path.resolve('node_modules', '.bin', 'vitest'),
      ['run', '--config', config, ...files],
      { stdio: 'inherit', env },
    );
    if (run.status !== 0) {
      console.error(
        `\nThe ${size} reliability run failed (exit ${run.status} in ${files.join(', ')}); ${path.relative(process.cwd(), out)} was left as it was.`,
      );
      process.exit(run.status ?? 1);
    }
  }
  const wallSeconds = Math.round((Date.now() - started) / 1000);
  const result = {
    size,
    ...provenance(),
    seed,
    preset,
    wallSeconds,
    sections: JSON.parse(fs.readFileSync(figures, 'utf8')) as Record<string, unknown>,
  };
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
  console.log(
    `\nReliability figures (${size}, seed ${seed}, ${wallSeconds} s) written to ${path.relative(process.cwd(), out)}; run \`npm run docs:figures\` to update the docs.`,
  );
}

if (require.main === module) main();
