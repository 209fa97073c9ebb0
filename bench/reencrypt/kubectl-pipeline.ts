/**
 * Contender (a): the article's storage migration with the real kubectl,
 *   set -o pipefail; kubectl get secrets --all-namespaces -o json | kubectl replace -f -
 * with its own kubeconfig and cache directory, each kubectl under `/usr/bin/time -v` for its peak RSS.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface ProcessUsage {
  /** Maximum resident set size, MB (`/usr/bin/time -v`). */
  peakRssMb: number;
  wallS: number;
  cpuS: number;
  exitStatus: number;
}

export interface KubectlResult {
  wallMs: number;
  exitCode: number;
  /** `secret/NAME replaced` lines printed by `replace`. */
  replaced: number;
  get: ProcessUsage;
  replace: ProcessUsage;
  /** Last lines of both stderr streams (kubectl's own error messages; no Secret data). */
  stderrTail: string[];
}

function parseTimeV(text: string): ProcessUsage {
  const field = (label: string) =>
    new RegExp(`^\\s*${label.replace(/[()]/g, '\\$&')}: (.+)$`, 'm').exec(text)?.[1]?.trim() ?? '';
  const elapsed = field('Elapsed (wall clock) time (h:mm:ss or m:ss)')
    .split(':')
    .reduce((total, part) => total * 60 + Number(part), 0);
  return {
    peakRssMb: Math.round(Number(field('Maximum resident set size (kbytes)')) / 1024),
    wallS: elapsed,
    cpuS: Number(field('User time (seconds)')) + Number(field('System time (seconds)')),
    exitStatus: Number(field('Exit status') || 'NaN'),
  };
}

const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

export async function runKubectlPipeline(kubeconfig: string): Promise<KubectlResult> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-kubectl-'));
  try {
    const config = join(dir, 'kubeconfig');
    writeFileSync(config, kubeconfig, { mode: 0o600 });
    const kubectl = `kubectl --kubeconfig ${quote(config)} --cache-dir ${quote(join(dir, 'cache'))}`;
    const timed = (name: string) => `/usr/bin/time -v -o ${quote(join(dir, `${name}.time`))}`;
    const script = [
      'set -o pipefail',
      `${timed('get')} ${kubectl} get secrets --all-namespaces -o json 2> ${quote(join(dir, 'get.err'))}` +
        ` | ${timed('replace')} ${kubectl} replace -f - > ${quote(join(dir, 'replace.out'))} 2> ${quote(join(dir, 'replace.err'))}`,
    ].join('\n');
    const t0 = performance.now();
    const exitCode = await new Promise<number>((resolve, reject) => {
      const child = spawn('bash', ['-c', script], {
        stdio: 'ignore',
        env: { ...process.env, KUBECACHEDIR: join(dir, 'cache') },
      });
      child.on('error', reject);
      child.on('exit', (code) => resolve(code ?? -1));
    });
    const wallMs = performance.now() - t0;
    const read = (f: string) => readFileSync(join(dir, f), 'utf8');
    const replaced = read('replace.out')
      .split('\n')
      .filter((l) => l.endsWith(' replaced')).length;
    const tail = (f: string) =>
      read(f)
        .split('\n')
        .filter(Boolean)
        .slice(-3)
        .map((l) => `${f.replace('.err', '')}: ${l.slice(0, 300)}`);
    return {
      wallMs,
      exitCode,
      replaced,
      get: parseTimeV(read('get.time')),
      replace: parseTimeV(read('replace.time')),
      stderrTail: [...tail('get.err'), ...tail('replace.err')],
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
