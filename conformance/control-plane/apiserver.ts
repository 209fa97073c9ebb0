/**
 * A kube-apiserver on loopback: HTTPS with a generated certificate, static bearer tokens, RBAC, etcd
 * on loopback, and Secrets encrypted per an EncryptionConfiguration file that is reloaded automatically.
 */
import { generateKeyPairSync } from 'node:crypto';
import * as fs from 'node:fs';
import * as https from 'node:https';
import * as path from 'node:path';
import { generateSandboxTls } from '../../sandbox/tls';
import { freePort, ManagedProcess } from './child-process';

export interface ApiserverFiles {
  dir: string;
  caPem: string;
  adminToken: string;
  encryptionConfigPath: string;
}

/** The TLS, token and service-account files an apiserver needs, written once per control plane. */
export async function writeApiserverFiles(dir: string): Promise<ApiserverFiles> {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const tls = await generateSandboxTls();
  fs.writeFileSync(path.join(dir, 'serving.crt'), tls.serverCertPem);
  fs.writeFileSync(path.join(dir, 'serving.key'), tls.serverKeyPem, { mode: 0o600 });
  const sa = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  fs.writeFileSync(path.join(dir, 'sa.pub'), sa.publicKey.export({ type: 'spki', format: 'pem' }));
  fs.writeFileSync(path.join(dir, 'sa.key'), sa.privateKey.export({ type: 'pkcs8', format: 'pem' }), {
    mode: 0o600,
  });
  const adminToken = `kmsflow-admin-${Date.now().toString(36)}${Math.random().toString(36).slice(2)}`;
  // token,user,uid,"groups"
  fs.writeFileSync(
    path.join(dir, 'tokens.csv'),
    `${adminToken},kmsflow-admin,kmsflow-admin-uid,"system:masters"\n`,
    { mode: 0o600 },
  );
  return {
    dir,
    caPem: tls.caCertPem,
    adminToken,
    encryptionConfigPath: path.join(dir, 'encryption-config.yaml'),
  };
}

export function apiserverArgs(
  files: ApiserverFiles,
  etcdUrl: string,
  port: number,
  extra: string[] = [],
): string[] {
  const f = (name: string) => path.join(files.dir, name);
  return [
    `--etcd-servers=${etcdUrl}`,
    '--bind-address=127.0.0.1',
    '--advertise-address=127.0.0.1',
    `--secure-port=${port}`,
    `--tls-cert-file=${f('serving.crt')}`,
    `--tls-private-key-file=${f('serving.key')}`,
    `--token-auth-file=${f('tokens.csv')}`,
    '--authorization-mode=RBAC',
    '--service-cluster-ip-range=10.0.0.0/24',
    `--service-account-issuer=https://127.0.0.1:${port}`,
    `--service-account-key-file=${f('sa.pub')}`,
    `--service-account-signing-key-file=${f('sa.key')}`,
    '--disable-admission-plugins=ServiceAccount',
    `--encryption-provider-config=${files.encryptionConfigPath}`,
    '--encryption-provider-config-automatic-reload=true',
    // Compaction is driven by the tests (etcd Compact), so continue-token expiry is deterministic.
    '--etcd-compaction-interval=0',
    '--profiling=false',
    '--v=1',
    ...extra,
  ];
}

export interface ApiserverResponse {
  status: number;
  body: string;
}

/** A request to the apiserver with the admin token, trusting only its CA (for what tests need below the clients). */
export function apiserverRequest(
  url: string,
  files: Pick<ApiserverFiles, 'caPem' | 'adminToken'>,
  method: string,
  pathAndQuery: string,
  body?: unknown,
): Promise<ApiserverResponse> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const headers: Record<string, string> = {
      Authorization: `Bearer ${files.adminToken}`,
      Accept: 'application/json',
    };
    if (payload) headers['Content-Type'] = 'application/json';
    const req = https.request(
      `${url}${pathAndQuery}`,
      { method, ca: files.caPem, headers, timeout: 10_000 },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (text += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${method} ${pathAndQuery}: timeout`)));
    req.on('error', reject);
    req.end(payload);
  });
}

export interface Readiness {
  ready: boolean;
  /** The failing checks of /readyz?verbose, e.g. `[-]informer-sync failed: ...`. */
  failing: string[];
}

export async function readiness(
  url: string,
  files: Pick<ApiserverFiles, 'caPem' | 'adminToken'>,
): Promise<Readiness> {
  const res = await apiserverRequest(url, files, 'GET', '/readyz?verbose');
  return { ready: res.status === 200, failing: res.body.split('\n').filter((l) => l.startsWith('[-]')) };
}

function throwUnlessReady(r: Readiness): boolean {
  if (r.ready) return true;
  throw new Error(`/readyz failing: ${r.failing.join('; ')}`);
}

async function isLive(url: string, files: ApiserverFiles): Promise<boolean> {
  return (await apiserverRequest(url, files, 'GET', '/livez')).status === 200;
}

export interface RunningApiserver {
  url: string;
  port: number;
  process: ManagedProcess;
  stop(): Promise<void>;
}

/** Starts kube-apiserver and waits for /readyz (all post-start hooks, including the KMS provider). */
export interface StartApiserverOptions {
  port?: number;
  extraArgs?: string[];
  /**
   * `ready` (default) waits for /readyz; `live` only for /livez, for scenarios in which the apiserver
   * is expected to never become ready (e.g. a Secret it cannot decrypt blocks its informer sync).
   */
  waitFor?: 'ready' | 'live';
  timeoutMs?: number;
}

export async function startApiserver(
  binary: string,
  files: ApiserverFiles,
  etcdUrl: string,
  options: StartApiserverOptions = {},
): Promise<RunningApiserver> {
  const port = options.port ?? (await freePort());
  const url = `https://127.0.0.1:${port}`;
  const proc = ManagedProcess.spawn(
    'kube-apiserver',
    binary,
    apiserverArgs(files, etcdUrl, port, options.extraArgs),
    path.join(files.dir, 'kube-apiserver.log'),
  );
  try {
    const waitFor = options.waitFor ?? 'ready';
    await proc.waitUntil(
      waitFor,
      () => (waitFor === 'ready' ? readiness(url, files).then(throwUnlessReady) : isLive(url, files)),
      options.timeoutMs ?? 120_000,
      500,
    );
  } catch (e) {
    await proc.stop();
    throw e;
  }
  return { url, port, process: proc, stop: () => proc.stop() };
}
