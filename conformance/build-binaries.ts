/**
 * Builds kube-apiserver and etcd from their Go modules into the kmsflow cache.
 *
 * `go install k8s.io/kubernetes/cmd/kube-apiserver@vX` cannot work: kubernetes' go.mod requires its
 * staging modules at v0.0.0 and replaces them with local paths. A throwaway wrapper module pins each
 * staging module to its published v0.<minor>.<patch> with `replace`, then builds the main packages of
 * its dependencies. etcd's server module is built from the same graph (kubernetes requires it).
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  cachedConformanceBinaries,
  conformanceBinDir,
  ETCD_VERSION,
  isExecutableFile,
  KUBE_VERSION,
  type ConformanceBinaries,
} from './binaries';

export class ConformanceBuildError extends Error {
  override name = 'ConformanceBuildError';
}

export interface BuildReport {
  binaries: ConformanceBinaries;
  /** false when the cache already held both binaries. */
  built: boolean;
  seconds: number;
  stepSeconds: Record<string, number>;
}

function findGo(): string {
  const candidates = [
    process.env.GO,
    ...(process.env.PATH ?? '').split(path.delimiter).map((d) => d && path.join(d, 'go')),
    '/usr/local/go/bin/go',
  ];
  const go = candidates.find((c): c is string => !!c && isExecutableFile(c));
  if (!go)
    throw new ConformanceBuildError(
      'No Go toolchain found (set GO or put go on PATH); building kube-apiserver needs Go >= 1.24.',
    );
  return go;
}

/** Runs one go command at low priority (the machine is shared), appending its output to the build log. */
function runGo(go: string, args: string[], cwd: string, logFile: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const env = {
      ...process.env,
      GOFLAGS: '-mod=mod',
      CGO_ENABLED: '0',
      GOTOOLCHAIN: 'local',
      GOWORK: 'off',
      PATH: `${path.dirname(go)}${path.delimiter}${process.env.PATH ?? ''}`,
    };
    fs.appendFileSync(logFile, `\n$ go ${args.join(' ')}\n`);
    const child = spawn('nice', ['-n', '10', go, ...args], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let tail = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      fs.appendFileSync(logFile, d);
    });
    child.stderr.on('data', (d: Buffer) => {
      tail = (tail + d.toString()).slice(-4000);
      fs.appendFileSync(logFile, d);
    });
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve(stdout);
      else
        reject(
          new ConformanceBuildError(
            `go ${args.slice(0, 2).join(' ')} failed (exit ${code}); log: ${logFile}\n${tail.trim().split('\n').slice(-15).join('\n')}`,
          ),
        );
    });
  });
}

/** One `replace` per staging module, read from the target kubernetes go.mod (the list changes between releases). */
export function stagingReplaces(kubernetesGoMod: string, kubeVersion: string): string[] {
  const stagingVersion = `v0.${kubeVersion.split('.').slice(1).join('.')}`;
  const modules = new Set<string>();
  for (const m of kubernetesGoMod.matchAll(/^\s*(k8s\.io\/[A-Za-z0-9._-]+)\s*=>\s*\.\/staging\//gm))
    modules.add(m[1]!);
  return [...modules].sort().map((mod) => `replace ${mod} => ${mod} ${stagingVersion}`);
}

export function versionLdflags(kubeVersion: string): string {
  const [major, minor] = kubeVersion.split('.');
  const pkg = 'k8s.io/component-base/version';
  return [
    `-X ${pkg}.gitVersion=v${kubeVersion}`,
    `-X ${pkg}.gitMajor=${major}`,
    `-X ${pkg}.gitMinor=${minor}`,
    `-X ${pkg}.gitTreeState=clean`,
  ].join(' ');
}

const TOOLS_GO = `//go:build tools

// Package tools pins the main packages this module exists to build.
package tools

import (
	_ "go.etcd.io/etcd/server/v3"
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
)
`;

/** A lock directory so two processes (a setup script and a test run) never run Go builds at once. */
async function withBuildLock<T>(
  lockDir: string,
  log: (line: string) => void,
  fn: () => Promise<T>,
): Promise<T> {
  fs.mkdirSync(path.dirname(lockDir), { recursive: true });
  let announced = false;
  for (;;) {
    try {
      fs.mkdirSync(lockDir);
      fs.writeFileSync(path.join(lockDir, 'pid'), String(process.pid));
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const holder = Number(
        fs.readFileSync(path.join(lockDir, 'pid'), { encoding: 'utf8', flag: 'a+' }) || 0,
      );
      if (holder && !isAlive(holder)) {
        fs.rmSync(lockDir, { recursive: true, force: true });
        continue;
      }
      if (!announced) log(`Waiting for another build (pid ${holder || '?'}) holding ${lockDir} ...`);
      announced = true;
      await new Promise((r) => setTimeout(r, 5000));
    }
  }
  try {
    return await fn();
  } finally {
    fs.rmSync(lockDir, { recursive: true, force: true });
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Returns the cached binaries, building them first when missing. The build happens in a private
 * staging directory renamed into place at the end, so a half-built tree is never visible.
 */
export async function ensureConformanceBinaries(
  log: (line: string) => void = () => {},
): Promise<BuildReport> {
  const started = Date.now();
  const binaries = cachedConformanceBinaries();
  const ready = () => isExecutableFile(binaries.kubeApiserver) && isExecutableFile(binaries.etcd);
  if (ready()) return { binaries, built: false, seconds: 0, stepSeconds: {} };
  const finalDir = conformanceBinDir();
  return withBuildLock(`${finalDir}.lock`, log, async () => {
    if (ready()) return { binaries, built: false, seconds: (Date.now() - started) / 1000, stepSeconds: {} };
    const go = findGo();
    const staging = `${finalDir}.build-${process.pid}`;
    const moduleDir = path.join(staging, 'module');
    fs.rmSync(staging, { recursive: true, force: true });
    fs.mkdirSync(moduleDir, { recursive: true });
    const logFile = path.join(staging, 'build.log');
    const stepSeconds: Record<string, number> = {};
    const step = async <T>(name: string, fn: () => Promise<T>): Promise<T> => {
      log(`[conformance build] ${name} ...`);
      const t0 = Date.now();
      const result = await fn();
      stepSeconds[name] = Math.round((Date.now() - t0) / 1000);
      log(`[conformance build] ${name}: ${stepSeconds[name]} s`);
      return result;
    };
    try {
      log(`Building kube-apiserver v${KUBE_VERSION} and etcd v${ETCD_VERSION} with ${go} (log: ${logFile})`);
      await runGo(go, ['mod', 'init', 'kmsflow.local/conformance-binaries'], moduleDir, logFile);
      const download = await step('download kubernetes go.mod', () =>
        runGo(go, ['mod', 'download', '-json', `k8s.io/kubernetes@v${KUBE_VERSION}`], moduleDir, logFile),
      );
      const goModPath = (JSON.parse(download) as { GoMod?: string }).GoMod;
      if (!goModPath)
        throw new ConformanceBuildError(
          `go mod download gave no GoMod path for k8s.io/kubernetes@v${KUBE_VERSION}`,
        );
      const replaces = stagingReplaces(fs.readFileSync(goModPath, 'utf8'), KUBE_VERSION);
      if (replaces.length < 10)
        throw new ConformanceBuildError(`Only ${replaces.length} staging modules found in ${goModPath}`);
      fs.appendFileSync(
        path.join(moduleDir, 'go.mod'),
        `\n${replaces.join('\n')}\nreplace k8s.io/kubernetes => k8s.io/kubernetes v${KUBE_VERSION}\n`,
      );
      fs.writeFileSync(path.join(moduleDir, 'tools.go'), TOOLS_GO);
      await step('resolve modules', async () => {
        await runGo(
          go,
          ['get', `k8s.io/kubernetes@v${KUBE_VERSION}`, `go.etcd.io/etcd/server/v3@v${ETCD_VERSION}`],
          moduleDir,
          logFile,
        );
        await runGo(go, ['mod', 'tidy'], moduleDir, logFile);
      });
      await step('build kube-apiserver', () =>
        runGo(
          go,
          [
            'build',
            '-trimpath',
            '-ldflags',
            versionLdflags(KUBE_VERSION),
            '-o',
            path.join(staging, 'kube-apiserver'),
            'k8s.io/kubernetes/cmd/kube-apiserver',
          ],
          moduleDir,
          logFile,
        ),
      );
      await step('build etcd', () =>
        runGo(
          go,
          ['build', '-trimpath', '-o', path.join(staging, 'etcd'), 'go.etcd.io/etcd/server/v3'],
          moduleDir,
          logFile,
        ),
      );
      const seconds = Math.round((Date.now() - started) / 1000);
      fs.writeFileSync(
        path.join(staging, 'build.json'),
        JSON.stringify(
          {
            kubeVersion: KUBE_VERSION,
            etcdVersion: ETCD_VERSION,
            seconds,
            stepSeconds,
            builtAt: new Date().toISOString(),
          },
          null,
          2,
        ),
      );
      fs.rmSync(finalDir, { recursive: true, force: true });
      fs.renameSync(staging, finalDir);
      log(`Conformance binaries ready in ${finalDir} (${seconds} s).`);
      return { binaries, built: true, seconds, stepSeconds };
    } catch (e) {
      // Keep the log for diagnosis next to where the binaries would go.
      if (fs.existsSync(logFile)) fs.copyFileSync(logFile, `${finalDir}.failed-build.log`);
      fs.rmSync(staging, { recursive: true, force: true });
      throw e;
    }
  });
}
