/**
 * The figures docs/reliability.md reports, as the reliability tests measure them: each test file merges its
 * section into one JSON file (KMSFLOW_RELIABILITY_FIGURES, default in the temp directory), which
 * `npm run reliability` (bench/reliability.ts) writes into its result file, the one the docs quote.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export type FigureSection = Record<string, unknown>;

export function figuresFile(): string {
  return (
    process.env.KMSFLOW_RELIABILITY_FIGURES ?? path.join(os.tmpdir(), 'kmsflow-reliability-figures.json')
  );
}

export function readFigures(file = figuresFile()): Record<string, FigureSection> {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, FigureSection>;
  } catch {
    return {};
  }
}

/** Replaces `section` in the figures file (test files run in parallel; each owns its sections). */
export function recordFigure(section: string, values: FigureSection): void {
  const file = figuresFile();
  const all = readFigures(file);
  all[section] = { ...values, measuredAt: new Date().toISOString() };
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, `${JSON.stringify(all, null, 2)}\n`);
  fs.renameSync(tmp, file);
}
