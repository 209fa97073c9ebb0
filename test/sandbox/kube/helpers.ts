/**
 * Test harness for the emulated Kubernetes API server: a throwaway CA and server certificate, an
 * HTTPS server mounting one cluster at /k8s/<name>, a kubeconfig, and runners for the official
 * client (`@kubernetes/client-node`) and the real `kubectl` binary.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import type { ClusterEncryption, OperationLogEntry } from '../../../sandbox/contracts';
import { EmulatedKubeCluster, type KubeClusterOptions } from '../../../sandbox/kube/cluster';

export interface TlsMaterial {
  caPem: string;
  certPem: string;
  keyPem: string;
}

/**
 * A CA and a server certificate for 127.0.0.1, made with the openssl CLI. (`@peculiar/x509` needs a
 * `reflect-metadata` polyfill that is not installed.)
 */
export async function makeTls(): Promise<TlsMaterial> {
  const dir = mkdtempSync(join(tmpdir(), 'kube-tls-'));
  try {
    const ext = join(dir, 'server.ext');
    writeFileSync(
      ext,
      'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature\n',
    );
    const run = (args: string[]) =>
      execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
    const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
    run([
      'req',
      '-x509',
      ...ec,
      '-keyout',
      'ca.key',
      '-out',
      'ca.crt',
      '-subj',
      '/CN=kube emulator test CA',
      '-days',
      '2',
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    ]);
    run(['req', ...ec, '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=127.0.0.1']);
    run([
      'x509',
      '-req',
      '-in',
      'server.csr',
      '-CA',
      'ca.crt',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-out',
      'server.crt',
      '-days',
      '2',
      '-extfile',
      ext,
    ]);
    const read = (f: string) => readFileSync(join(dir, f), 'utf8');
    return { caPem: read('ca.crt'), certPem: read('server.crt'), keyPem: read('server.key') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export const TOKENS = { user: 'user-token-0123456789', admin: 'admin-token-0123456789' };
export const KEY = (n: number): string =>
  `https://kv-test.vault.azure.net/keys/etcd-kek/${'0'.repeat(31)}${n}`;

export interface TestCluster {
  cluster: EmulatedKubeCluster;
  url: string;
  tls: TlsMaterial;
  records: Omit<OperationLogEntry, 'seq' | 'time'>[];
  unusableKeys: Set<string>;
  clock: { now: number };
  core(token?: string): k8s.CoreV1Api;
  /** Points the cluster at key `n` like the Azure side would after a rotation (slots current/previous). */
  rotateTo(n: number): void;
  close(): Promise<void>;
}

export function kmsEncryption(current: number, previous?: number): ClusterEncryption {
  const slots: ClusterEncryption['slots'] = { current: KEY(current) };
  if (previous !== undefined) slots.previous = KEY(previous);
  return { write: { type: 'kms-v2', keyId: KEY(current) }, slots };
}

export async function startCluster(
  tls: TlsMaterial,
  overrides: Partial<KubeClusterOptions> = {},
): Promise<TestCluster> {
  const records: TestCluster['records'] = [];
  const unusableKeys = new Set<string>();
  const clock = { now: Date.UTC(2026, 0, 15, 12) };
  const name = overrides.name ?? 'aks-test';
  const cluster = new EmulatedKubeCluster({
    name,
    kubernetesVersion: '1.32.4',
    encryption: kmsEncryption(1),
    keys: {
      keyProblem: (k) =>
        unusableKeys.has(k)
          ? `failed to unwrap the data encryption key with ${k}: the key version is disabled, expired or no longer exists in Key Vault`
          : undefined,
    },
    recorder: { record: (e) => records.push(e) },
    tokens: TOKENS,
    now: () => clock.now,
    ...overrides,
  });
  const prefix = `/k8s/${name}`;
  const server: Server = createServer({ cert: tls.certPem, key: tls.keyPem }, (req, res) => {
    const url = req.url ?? '/';
    if (!url.startsWith(prefix)) {
      res.writeHead(404).end();
      return;
    }
    cluster.handle(req, res, url.slice(prefix.length) || '/').catch((e: unknown) => {
      res.writeHead(500).end(String(e));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `https://127.0.0.1:${(server.address() as AddressInfo).port}${prefix}`;
  let current = 1;
  return {
    cluster,
    url,
    tls,
    records,
    unusableKeys,
    clock,
    core(token = TOKENS.admin) {
      const kc = new k8s.KubeConfig();
      kc.loadFromOptions({
        clusters: [{ name, server: url, caData: Buffer.from(tls.caPem).toString('base64') }],
        users: [{ name: 'u', token }],
        contexts: [{ name: 'c', cluster: name, user: 'u' }],
        currentContext: 'c',
      });
      return kc.makeApiClient(k8s.CoreV1Api);
    },
    rotateTo(n: number) {
      cluster.setEncryption(kmsEncryption(n, current));
      current = n;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export function kubeconfigYaml(url: string, caPem: string, token: string): string {
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    '- name: emulated',
    '  cluster:',
    `    server: ${url}`,
    `    certificate-authority-data: ${Buffer.from(caPem).toString('base64')}`,
    'users:',
    '- name: tester',
    '  user:',
    `    token: ${token}`,
    'contexts:',
    '- name: emulated',
    '  context: {cluster: emulated, user: tester}',
    'current-context: emulated',
    '',
  ].join('\n');
}

export interface ShellResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * A private kubeconfig and discovery cache for kubectl, and a bash runner using them. With `kubectlBinary`,
 * `kubectl` in its scripts is that binary (first on PATH), not whatever `kubectl` the machine has.
 */
export class KubectlEnv {
  readonly dir = mkdtempSync(join(tmpdir(), 'kubectl-test-'));
  private readonly path: string;

  constructor(url: string, caPem: string, token = TOKENS.admin, kubectlBinary?: string) {
    writeFileSync(join(this.dir, 'kubeconfig'), kubeconfigYaml(url, caPem, token));
    const path = process.env.PATH ?? '/usr/bin:/bin';
    if (kubectlBinary) {
      mkdirSync(join(this.dir, 'bin'));
      symlinkSync(kubectlBinary, join(this.dir, 'bin', 'kubectl'));
      this.path = `${join(this.dir, 'bin')}${delimiter}${path}`;
    } else {
      this.path = path;
    }
  }

  /** Runs a bash script with KUBECONFIG and KUBECACHEDIR set to this environment. */
  sh(script: string, stdin?: string): Promise<ShellResult> {
    return new Promise((resolve, reject) => {
      const child = spawn('bash', ['-c', script], {
        env: {
          PATH: this.path,
          HOME: this.dir,
          KUBECONFIG: join(this.dir, 'kubeconfig'),
          KUBECACHEDIR: join(this.dir, 'cache'),
        },
        cwd: this.dir,
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.on('error', reject);
      child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
      child.stdin.end(stdin ?? '');
    });
  }

  cleanup(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Parses the JSON body of a client-node ApiException (a raw string in 1.4.0). */
export function statusOf(e: unknown): {
  code: number;
  reason?: string;
  message?: string;
  metadata?: { continue?: string };
} {
  if (!(e instanceof k8s.ApiException)) throw e;
  const body =
    typeof e.body === 'string'
      ? (JSON.parse(e.body) as Record<string, unknown>)
      : (e.body as Record<string, unknown>);
  return { ...(body as object), code: e.code } as ReturnType<typeof statusOf>;
}
