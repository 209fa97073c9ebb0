/** Where a result file's figures come from: when, which commit (and whether the code differed from it), which machine. */
import { execFileSync } from 'node:child_process';
import * as os from 'node:os';

export interface Provenance {
  date: string;
  commit: string;
  /** Changes to the code the run used; result files written by other runs do not count. */
  uncommittedChanges: boolean;
  machine: { cpus: number; cpuModel: string; memoryGiB: number; node: string };
}

export function provenance(): Provenance {
  const git = (...args: string[]) => execFileSync('git', args, { encoding: 'utf8' }).trim();
  return {
    date: new Date().toISOString(),
    commit: git('rev-parse', '--short', 'HEAD'),
    uncommittedChanges:
      git('status', '--porcelain', '--untracked-files=no', '--', '.', ':(exclude)bench/results').length > 0,
    machine: {
      cpus: os.cpus().length,
      cpuModel: os.cpus()[0]?.model ?? 'unknown',
      memoryGiB: Math.round(os.totalmem() / 2 ** 30),
      node: process.version,
    },
  };
}
