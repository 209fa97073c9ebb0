/**
 * Entry points behind `kmsflow sandbox start|inspect|faults`. `start` runs in-process; `inspect` and
 * `faults` talk to a running sandbox through its admin endpoint, found from an env file or options.
 */
import * as https from 'node:https';
import { readFileSync } from 'node:fs';
import type { OperationLogEntry } from './contracts';
import { createSandboxAzureClients, SandboxCredential } from './client-options';
import { readSandboxEnv, type SandboxEnv } from './env-file';
import type { ClusterInspection, SandboxOverview } from './inspect';
import { startSandbox, type RunningSandbox, type StartSandboxOptions } from './sandbox';

type Print = (line: string) => void;

export interface SandboxStartCommandOptions extends StartSandboxOptions {
  /** Where to write the env file for workers and the CLI. */
  envFile?: string;
  print?: Print;
}

export async function sandboxStartCommand(opts: SandboxStartCommandOptions = {}): Promise<RunningSandbox> {
  const print = opts.print ?? console.log;
  const sb = await startSandbox(opts);
  if (opts.envFile) await sb.writeEnvFile(opts.envFile);
  const overview = sb.inspect();
  print(`kmsflow sandbox listening on 127.0.0.1:${sb.port}`);
  print(`  ARM            ${sb.armEndpoint}`);
  print(`  Key Vault      ${overview.vaults.map((v) => sb.vaultUrl(v.name)).join(', ') || '(no vaults)'}`);
  print(
    `  Kubernetes     https://127.0.0.1:${sb.port}/k8s/<cluster>  (${overview.clusters.map((c) => c.name).join(', ') || 'no clusters'})`,
  );
  print(`  Admin          ${sb.adminUrl}`);
  print(`  Subscription   ${sb.subscriptionId}   Tenant ${sb.tenantId}`);
  print(`  Operator       ${sb.operator.objectId}`);
  if (opts.envFile) print(`  Env file       ${opts.envFile}`);
  if (opts.stateDir) print(`  State          ${opts.stateDir}`);
  return sb;
}

export interface SandboxClientOptions {
  /** Env file written by `sandbox start`; default: the KMSFLOW_SANDBOX_* environment variables. */
  envFile?: string;
  /** Overrides: admin URL (https://127.0.0.1:PORT/_sandbox) and CA PEM path. */
  adminUrl?: string;
  caPath?: string;
}

function sandboxEnvOf(opts: SandboxClientOptions): SandboxEnv {
  const env = readSandboxEnv(opts.envFile ? { file: opts.envFile } : { env: process.env });
  if (!env)
    throw new Error(
      'No running sandbox found: pass --sandbox-env, or --admin-url and --ca, or set the KMSFLOW_SANDBOX_* variables.',
    );
  return env;
}

function adminTarget(opts: SandboxClientOptions): { url: string; ca: string } {
  if (opts.adminUrl && opts.caPath) return { url: opts.adminUrl, ca: readFileSync(opts.caPath, 'utf8') };
  const env = sandboxEnvOf(opts);
  return {
    url: opts.adminUrl ?? env.adminUrl,
    ca: opts.caPath ? readFileSync(opts.caPath, 'utf8') : env.endpoints.caPem,
  };
}

export function adminCall<T>(
  opts: SandboxClientOptions,
  method: string,
  path: string,
  body?: unknown,
): Promise<T> {
  const target = adminTarget(opts);
  const url = new URL(`${target.url.replace(/\/$/, '')}${path}`);
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = https.request(
      url,
      {
        method,
        ca: target.ca,
        headers: payload
          ? { 'Content-Type': 'application/json', 'Content-Length': String(Buffer.byteLength(payload)) }
          : {},
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          if ((res.statusCode ?? 500) >= 400) {
            let message = text;
            try {
              message = (JSON.parse(text) as { error?: { message?: string } }).error?.message ?? text;
            } catch {
              // not JSON: keep the text
            }
            reject(new Error(`sandbox admin ${method} ${path}: ${res.statusCode ?? 0} ${message}`));
            return;
          }
          resolve(JSON.parse(text) as T);
        });
      },
    );
    req.on('error', reject);
    if (payload) req.write(payload);
    req.end();
  });
}

export interface SandboxInspectCommandOptions extends SandboxClientOptions {
  /** One cluster in detail; omitted = overview of everything. */
  cluster?: string;
  /** Include the per-Secret etcd view (JSON only). */
  entries?: boolean;
  json?: boolean;
  /** Operations shown in the human table (latest first); default 15. */
  operations?: number;
  print?: Print;
}

export async function sandboxInspectCommand(opts: SandboxInspectCommandOptions): Promise<void> {
  const print = opts.print ?? console.log;
  if (opts.cluster) {
    const inspection = await adminCall<ClusterInspection>(
      opts,
      'GET',
      `/clusters/${encodeURIComponent(opts.cluster)}${opts.entries ? '?entries=1' : ''}`,
    );
    if (opts.json) print(JSON.stringify(inspection, null, 2));
    else printCluster(inspection, opts.operations ?? 15, print);
    return;
  }
  const overview = await adminCall<SandboxOverview>(opts, 'GET', '/state');
  if (opts.json) print(JSON.stringify(overview, null, 2));
  else printOverview(overview, print);
}

export interface SandboxKubeconfigOptions extends SandboxClientOptions {
  cluster: string;
  /** Default: the resource group of the subscription's only cluster with that name. */
  resourceGroup?: string;
}

/**
 * The kubeconfig of a sandbox cluster, the way `az aks get-credentials` gets it: ARM's
 * listClusterUserCredential, through the same SDK client kmsflow's activities use.
 */
export async function sandboxKubeconfig(opts: SandboxKubeconfigOptions): Promise<string> {
  const env = sandboxEnvOf(opts);
  const arm = createSandboxAzureClients(
    env.endpoints,
    new SandboxCredential(env.principal),
    env.subscriptionId,
  ).containerService;
  let resourceGroup = opts.resourceGroup;
  if (!resourceGroup) {
    const groups: string[] = [];
    for await (const mc of arm.managedClusters.list()) {
      if (mc.name?.toLowerCase() === opts.cluster.toLowerCase())
        groups.push(/\/resourceGroups\/([^/]+)\//i.exec(mc.id ?? '')?.[1] ?? '');
    }
    if (groups.length === 0)
      throw new Error(
        `No cluster named ${opts.cluster} in subscription ${env.subscriptionId}: \`kmsflow sandbox inspect\` lists them.`,
      );
    if (groups.length > 1)
      throw new Error(
        `${groups.length} clusters are named ${opts.cluster} (resource groups ${groups.join(', ')}): name one with --resource-group.`,
      );
    resourceGroup = groups[0]!;
  }
  const credentials = await arm.managedClusters.listClusterUserCredentials(resourceGroup, opts.cluster);
  const value = credentials.kubeconfigs?.[0]?.value;
  if (!value) throw new Error(`ARM returned no kubeconfig for ${opts.cluster}.`);
  return Buffer.from(value).toString('utf8');
}

export interface SandboxFaultsCommandOptions extends SandboxClientOptions {
  /** `list` (default), `add` (one rule as JSON), `set` (JSON {seed?, rules}), `clear`, `remove <id>`, `kube` (cluster + JSON). */
  action?: 'list' | 'add' | 'set' | 'clear' | 'remove' | 'kube';
  /** JSON text of the rule, rule set or kube faults. */
  spec?: string;
  id?: string;
  cluster?: string;
  print?: Print;
}

export async function sandboxFaultsCommand(opts: SandboxFaultsCommandOptions): Promise<unknown> {
  const print = opts.print ?? console.log;
  const spec = opts.spec ? (JSON.parse(opts.spec) as unknown) : undefined;
  let result: unknown;
  switch (opts.action ?? 'list') {
    case 'list':
      result = await adminCall(opts, 'GET', '/faults');
      break;
    case 'add':
      result = await adminCall(opts, 'POST', '/faults', spec);
      break;
    case 'set':
      result = await adminCall(opts, 'PUT', '/faults', spec);
      break;
    case 'clear':
      result = await adminCall(opts, 'DELETE', '/faults');
      break;
    case 'remove':
      result = await adminCall(opts, 'DELETE', `/faults/${encodeURIComponent(opts.id ?? '')}`);
      break;
    case 'kube':
      if (!opts.cluster) throw new Error('kube faults need a cluster');
      result = await adminCall(
        opts,
        spec === undefined ? 'GET' : 'PUT',
        `/clusters/${encodeURIComponent(opts.cluster)}/kube-faults`,
        spec,
      );
      break;
  }
  print(JSON.stringify(result, null, 2));
  return result;
}

/** Plain text table: columns padded to their widest cell. */
export function table(headers: string[], rows: string[][]): string[] {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  return [line(headers), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)];
}

function shortKey(keyId: string | undefined): string {
  if (!keyId) return '-';
  const m = /^https:\/\/([^./]+)[^/]*\/keys\/([^/]+)\/([0-9a-f]+)$/i.exec(keyId);
  return m ? `${m[1]}/${m[2]}/${(m[3] ?? '').slice(0, 8)}` : keyId;
}

function shortProvider(label: string): string {
  const [type, ...rest] = label.split(':');
  return rest.length ? `${type}:${shortKey(rest.join(':'))}` : label;
}

function printCluster(c: ClusterInspection, operations: number, print: Print): void {
  print(
    `Cluster ${c.name}  ${c.provisioningState}${c.provisioningError ? ` (${c.provisioningError.code}: ${c.provisioningError.message})` : ''}`,
  );
  print(`  Kubernetes      ${c.kubernetesVersion} (API server reports ${c.apiServerVersion ?? '-'})`);
  print(
    `  KMS             ${c.kms?.enabled ? `on, ${c.kms.keyVaultNetworkAccess ?? ''} ${shortKey(c.kms.keyId)}` : 'off'}`,
  );
  print(
    `  Key slots       current ${shortKey(c.keySlots.current)}   previous ${shortKey(c.keySlots.previous)}`,
  );
  const write = c.encryption?.write;
  print(
    `  Writes as       ${write ? (write.type === 'identity' ? 'identity (plaintext)' : `${write.type} ${shortKey(write.keyId)}`) : '-'}`,
  );
  if (c.pendingChange)
    print(`  Pending         API server change at ${new Date(c.pendingChange.applyAt).toISOString()}`);
  if (c.etcd) {
    print(
      `  etcd            ${c.etcd.total} Secrets, ${(c.etcd.bytes / 1_048_576).toFixed(1)} MiB, ${c.etcd.unreadable} unreadable`,
    );
    for (const line of table(
      ['stored under', 'secrets', 'MiB', 'unreadable'],
      c.etcd.byProvider.map((p) => [
        shortProvider(p.provider),
        String(p.secrets),
        (p.bytes / 1_048_576).toFixed(2),
        String(p.unreadable),
      ]),
    ))
      print(`    ${line}`);
  }
  const ops: OperationLogEntry[] = c.operations.slice(-operations).reverse();
  if (ops.length) {
    print(`  Operations (latest ${ops.length} of ${c.operations.length})`);
    for (const line of table(
      ['seq', 'time', 'service', 'method', 'status', 'path / detail'],
      ops.map((o) => [
        String(o.seq),
        o.time.slice(11, 23),
        o.service,
        o.method,
        String(o.status),
        o.detail ? `${o.path.split('/').slice(-2).join('/')}  ${o.detail}` : o.path,
      ]),
    ))
      print(`    ${line}`);
  }
}

function printOverview(o: SandboxOverview, print: Print): void {
  for (const s of o.subscriptions)
    print(`Subscription ${s.subscriptionId} (tenant ${s.tenantId}): ${s.resourceGroups.join(', ')}`);
  print('');
  for (const line of table(
    ['cluster', 'resource group', 'version', 'state', 'secrets', 'kms'],
    o.clusters.map((c) => [
      c.name,
      c.resourceGroup,
      c.kubernetesVersion,
      c.provisioningState,
      String(c.secrets ?? '-'),
      c.kms === 'off' ? 'off' : `${c.kms.split(' ')[0] ?? ''} ${shortKey(c.kms.split(' ')[1])}`,
    ]),
  ))
    print(line);
  print('');
  for (const line of table(
    ['vault', 'public access', 'firewall', 'rbac', 'key', 'version', 'type', 'enabled', 'expires'],
    o.vaults.flatMap((v) =>
      v.keys.flatMap((k) =>
        k.versions.map((ver) => [
          v.name,
          v.publicNetworkAccess,
          v.defaultAction,
          String(v.rbac),
          k.name,
          ver.version.slice(0, 8),
          ver.kty,
          String(ver.enabled),
          ver.expires ?? '-',
        ]),
      ),
    ),
  ))
    print(line);
  print('');
  for (const line of table(
    ['identity', 'principal id', 'client id'],
    o.identities.map((i) => [i.name, i.principalId, i.clientId]),
  ))
    print(line);
  print(`${o.roleAssignments.length} role assignments`);
}
