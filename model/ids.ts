/**
 * Parsing of the identifiers kmsflow takes: ARM resource ids of clusters and vaults, and versioned Key
 * Vault key ids. Pure functions, shared by the CLI (input validation), the activities and the workflows.
 */

export class InvalidIdError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidIdError';
  }
}

export interface ClusterRef {
  subscriptionId: string;
  resourceGroup: string;
  name: string;
}

export interface VaultRef {
  subscriptionId: string;
  resourceGroup: string;
  name: string;
}

export interface KeyRef {
  /** `https://<vault>.vault.azure.net[:port]` */
  vaultUrl: string;
  vaultName: string;
  name: string;
  version: string;
}

const SEGMENT = '[^/]+';

function armPattern(provider: string, type: string): RegExp {
  return new RegExp(
    `^/subscriptions/(${SEGMENT})/resourceGroups/(${SEGMENT})/providers/${provider}/${type}/(${SEGMENT})/?$`,
    'i',
  );
}

const CLUSTER_ID = armPattern('Microsoft\\.ContainerService', 'managedClusters');
const VAULT_ID = armPattern('Microsoft\\.KeyVault', 'vaults');

export function parseClusterId(id: string): ClusterRef {
  const m = CLUSTER_ID.exec(id.trim());
  if (!m) {
    throw new InvalidIdError(
      `"${id}" is not an AKS cluster resource id: expected /subscriptions/<id>/resourceGroups/<group>/providers/Microsoft.ContainerService/managedClusters/<name> (az aks show --query id -o tsv prints it).`,
    );
  }
  return { subscriptionId: m[1]!, resourceGroup: m[2]!, name: m[3]! };
}

export function clusterId(ref: ClusterRef): string {
  return `/subscriptions/${ref.subscriptionId}/resourceGroups/${ref.resourceGroup}/providers/Microsoft.ContainerService/managedClusters/${ref.name}`;
}

export function parseVaultId(id: string): VaultRef {
  const m = VAULT_ID.exec(id.trim());
  if (!m) {
    throw new InvalidIdError(
      `"${id}" is not a Key Vault resource id: expected /subscriptions/<id>/resourceGroups/<group>/providers/Microsoft.KeyVault/vaults/<name> (az keyvault show --name <vault> --query id -o tsv prints it).`,
    );
  }
  return { subscriptionId: m[1]!, resourceGroup: m[2]!, name: m[3]! };
}

export function vaultId(ref: VaultRef): string {
  return `/subscriptions/${ref.subscriptionId}/resourceGroups/${ref.resourceGroup}/providers/Microsoft.KeyVault/vaults/${ref.name}`;
}

/** A versioned key id, the only form AKS KMS accepts: https://<vault>.vault.azure.net/keys/<name>/<version>. */
export function parseKeyId(id: string): KeyRef {
  let url: URL;
  try {
    url = new URL(id.trim());
  } catch {
    throw new InvalidIdError(
      `"${id}" is not a Key Vault key id: expected https://<vault>.vault.azure.net/keys/<name>/<version>.`,
    );
  }
  const parts = url.pathname.split('/').filter(Boolean);
  const hostMatch = /^([a-z0-9-]{3,24})\.vault\.azure\.net$/i.exec(url.hostname);
  if (
    url.protocol !== 'https:' ||
    !hostMatch ||
    parts[0] !== 'keys' ||
    parts.length < 2 ||
    parts.length > 3
  ) {
    throw new InvalidIdError(
      `"${id}" is not a Key Vault key id: expected https://<vault>.vault.azure.net/keys/<name>/<version>.`,
    );
  }
  if (parts.length === 2 || !parts[2]) {
    throw new InvalidIdError(
      `"${id}" has no key version: AKS KMS needs a versioned key id; take it from az keyvault key show --vault-name ${hostMatch[1]} --name ${parts[1]} --query key.kid -o tsv.`,
    );
  }
  return { vaultUrl: url.origin, vaultName: hostMatch[1]!.toLowerCase(), name: parts[1]!, version: parts[2] };
}

export function keyId(ref: Pick<KeyRef, 'vaultUrl' | 'name' | 'version'>): string {
  return `${ref.vaultUrl}/keys/${ref.name}/${ref.version}`;
}

/** Key ids are compared without regard to host case or a trailing slash. */
export function sameKeyId(a: string | undefined, b: string | undefined): boolean {
  if (!a || !b) return false;
  const norm = (s: string) => s.trim().replace(/\/+$/, '').toLowerCase();
  return norm(a) === norm(b);
}

/** Whether two key ids are keys of the same vault (vault names are globally unique). */
export function sameVault(a: string, b: string): boolean {
  return parseKeyId(a).vaultName.toLowerCase() === parseKeyId(b).vaultName.toLowerCase();
}

/** Kubernetes versions: "1.29", "1.29.7" → [1, 29]. */
export function minorVersion(version: string): [number, number] {
  const m = /^v?(\d+)\.(\d+)/.exec(version.trim());
  if (!m)
    throw new InvalidIdError(
      `"${version}" is not a Kubernetes version: expected <major>.<minor>[.<patch>], e.g. 1.29.`,
    );
  return [Number(m[1]), Number(m[2])];
}

/** KMS v2 is what AKS runs from Kubernetes 1.27 on; below that, KMS v1. */
export function usesKmsV2(version: string): boolean {
  const [major, minor] = minorVersion(version);
  return major > 1 || minor >= 27;
}

/**
 * The versions an upgrade passes through, one minor at a time, ending at the target: what AKS allows.
 * The plan's steps and the preflight's reachability check both follow it.
 */
export function upgradeHops(fromVersion: string, targetVersion: string): string[] {
  const [, fromMinor] = minorVersion(fromVersion);
  const [major, toMinor] = minorVersion(targetVersion);
  const hops: string[] = [];
  for (let minor = fromMinor + 1; minor <= toMinor; minor++)
    hops.push(minor === toMinor ? targetVersion : `${major}.${minor}`);
  return hops;
}
