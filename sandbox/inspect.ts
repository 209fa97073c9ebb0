/** Read-only views of a running sandbox for tests, the admin endpoint and `kmsflow sandbox inspect`. */
import type { ClusterEncryption, OperationLogEntry, StorageProvider } from './contracts';
import type { SandboxContext } from './context';
import { isObject } from './http';
import type { EtcdViewEntry } from './kube/cluster';
import type { PendingKubeChange } from './kube-registry';
import { clusterArmId, type AzureKeyVaultKms, type ProvisioningState } from './store';

export function providerLabel(p: StorageProvider): string {
  return p.type === 'identity' ? 'identity' : `${p.type}:${p.keyId}`;
}

export interface EtcdSummary {
  total: number;
  readable: number;
  unreadable: number;
  bytes: number;
  byProvider: { provider: string; secrets: number; bytes: number; unreadable: number }[];
}

export function summarizeEtcd(entries: EtcdViewEntry[]): EtcdSummary {
  const groups = new Map<string, { provider: string; secrets: number; bytes: number; unreadable: number }>();
  let bytes = 0;
  let unreadable = 0;
  for (const e of entries) {
    const label = providerLabel(e.provider);
    const g = groups.get(label) ?? { provider: label, secrets: 0, bytes: 0, unreadable: 0 };
    g.secrets++;
    g.bytes += e.bytes;
    if (!e.readable) {
      g.unreadable++;
      unreadable++;
    }
    bytes += e.bytes;
    groups.set(label, g);
  }
  return {
    total: entries.length,
    readable: entries.length - unreadable,
    unreadable,
    bytes,
    byProvider: [...groups.values()].sort((a, b) => b.secrets - a.secrets),
  };
}

export interface ClusterInspection {
  name: string;
  id: string;
  provisioningState: ProvisioningState;
  provisioningError?: { code: string; message: string };
  /** The control plane version ARM reports. */
  kubernetesVersion: string;
  /** The version the emulated API server reports (lags behind by the propagation delay). */
  apiServerVersion?: string;
  /** KMS configuration in effect on the ARM side. */
  kms?: AzureKeyVaultKms;
  /** The two key slots AKS holds, as ARM tracks them. */
  keySlots: { current?: string; previous?: string };
  /** What the API server uses now. */
  encryption?: ClusterEncryption;
  /** Set when the cluster is backed by an external (real) API server instead of the emulated one. */
  externalApiServer?: string;
  pendingChange?: PendingKubeChange;
  etcd?: EtcdSummary;
  /** Per-Secret view, only when asked for. */
  etcdEntries?: EtcdViewEntry[];
  operations: OperationLogEntry[];
}

export function clusterOperations(ctx: SandboxContext, name: string): OperationLogEntry[] {
  const arm = `/managedclusters/${name.toLowerCase()}`;
  const kube = `/k8s/${name}/`;
  return ctx.oplog.entries().filter((e) => {
    const p = e.path.toLowerCase();
    return p.endsWith(arm) || p.includes(`${arm}/`) || e.path.startsWith(kube);
  });
}

export function inspectCluster(
  ctx: SandboxContext,
  name: string,
  opts: { entries?: boolean; operationsLimit?: number } = {},
): ClusterInspection | undefined {
  const record = ctx.store.clusterByName(name);
  if (!record) return undefined;
  const kube = ctx.kube.get(record.name);
  const external = ctx.kube.external(record.name);
  const view = kube?.etcdView();
  const pending = ctx.kube.pendingChanges().find((p) => p.cluster === record.name);
  const ops = clusterOperations(ctx, record.name);
  return {
    name: record.name,
    id: clusterArmId(record),
    provisioningState: record.provisioningState,
    ...(record.provisioningError ? { provisioningError: record.provisioningError } : {}),
    kubernetesVersion: record.currentKubernetesVersion,
    ...(kube ? { apiServerVersion: kube.getKubernetesVersion(), encryption: kube.getEncryption() } : {}),
    // An external API server's storage is read asynchronously: GET /_sandbox/clusters/<name>/etcd.
    ...(external
      ? { encryption: external.getEncryption(), externalApiServer: external.connection().server }
      : {}),
    ...(record.appliedKms ? { kms: record.appliedKms } : {}),
    keySlots: { ...record.keySlots },
    ...(pending ? { pendingChange: pending } : {}),
    ...(view ? { etcd: summarizeEtcd(view) } : {}),
    ...(view && opts.entries ? { etcdEntries: view } : {}),
    operations: opts.operationsLimit ? ops.slice(-opts.operationsLimit) : ops,
  };
}

export interface SandboxOverview {
  subscriptions: { subscriptionId: string; tenantId: string; resourceGroups: string[] }[];
  clusters: {
    name: string;
    resourceGroup: string;
    kubernetesVersion: string;
    provisioningState: string;
    kms: string;
    secrets?: number;
  }[];
  vaults: {
    name: string;
    resourceGroup: string;
    publicNetworkAccess: string;
    defaultAction: string;
    rbac: boolean;
    keys: {
      name: string;
      versions: { version: string; kty: string; enabled: boolean; expires?: string }[];
    }[];
  }[];
  identities: { name: string; resourceGroup: string; principalId: string; clientId: string }[];
  roleAssignments: { scope: string; roleDefinitionId: string; principalId: string }[];
}

export function inspectSandbox(ctx: SandboxContext): SandboxOverview {
  const s = ctx.store.state;
  return {
    subscriptions: Object.values(s.subscriptions).map((sub) => ({
      subscriptionId: sub.subscriptionId,
      tenantId: sub.tenantId,
      resourceGroups: Object.keys(sub.resourceGroups),
    })),
    clusters: s.clusters.map((c) => {
      const kube = ctx.kube.get(c.name);
      return {
        name: c.name,
        resourceGroup: c.resourceGroup,
        kubernetesVersion: c.currentKubernetesVersion,
        provisioningState: c.provisioningState,
        kms: c.appliedKms?.enabled
          ? `${c.appliedKms.keyVaultNetworkAccess ?? ''} ${c.appliedKms.keyId ?? ''}`
          : 'off',
        ...(kube ? { secrets: kube.etcdView().length } : {}),
      };
    }),
    vaults: s.vaults.map((v) => ({
      name: v.name,
      resourceGroup: v.resourceGroup,
      publicNetworkAccess: String(v.properties.publicNetworkAccess ?? 'Enabled'),
      defaultAction: isObject(v.properties.networkAcls)
        ? String(v.properties.networkAcls.defaultAction ?? 'Allow')
        : 'Allow',
      rbac: v.properties.enableRbacAuthorization === true,
      keys: Object.values(v.keys).map((k) => ({
        name: k.name,
        versions: k.versions.map((ver) => ({
          version: ver.version,
          kty: ver.kty,
          enabled: ver.enabled,
          ...(ver.exp !== undefined ? { expires: new Date(ver.exp * 1000).toISOString() } : {}),
        })),
      })),
    })),
    identities: s.identities.map((i) => ({
      name: i.name,
      resourceGroup: i.resourceGroup,
      principalId: i.principalId,
      clientId: i.clientId,
    })),
    roleAssignments: s.roleAssignments.map((a) => ({
      scope: a.scope,
      roleDefinitionId: a.roleDefinitionId,
      principalId: a.principalId,
    })),
  };
}
