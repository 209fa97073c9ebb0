/**
 * The estate around one change: every cluster in scope that may depend on the key versions and vaults the
 * change touches. AKS reports a cluster's current key; only kmsflow's key ledger knows the previous slot, so
 * for a cluster whose history kmsflow does not hold that slot is unknown, and rules treat it as possibly
 * holding anything. What could not be read is part of the snapshot, never dropped.
 */
import type { KmsState } from './cluster-model';
import { parseClusterId, parseKeyId, sameKeyId } from './ids';

export interface EstateCluster {
  id: string;
  name: string;
  subscriptionId: string;
  /** ARM's KMS profile. */
  kms: KmsState;
  /** AKS's key slots: current from ARM (also with KMS off: the plugin keeps its keys), previous from the ledger. */
  slots: { current?: string; previous?: string };
  /** Why the previous slot is unknown (no ledger, or the key changed outside kmsflow); absent when known. */
  previousUnknown?: string;
  /** Versions the ledger says Secrets may still be stored under. */
  stillNeeded: string[];
}

export interface EstateSnapshot {
  /** The subscriptions whose clusters were listed. */
  subscriptions: string[];
  /** Every other cluster in scope (the cluster being changed is not among them). */
  clusters: EstateCluster[];
  /** What could not be read: each makes a rule that depends on it say "cannot verify". */
  unreadable: { what: string; reason: string }[];
}

/** How a cluster depends on a key version, in words, or undefined when it does not. */
export function holdsKey(cluster: EstateCluster, keyId: string): string | undefined {
  if (sameKeyId(cluster.slots.current, keyId)) return "it is in AKS's current key slot";
  if (sameKeyId(cluster.slots.previous, keyId)) return "it is in AKS's previous key slot";
  if (cluster.stillNeeded.some((k) => sameKeyId(k, keyId)))
    return 'its key ledger has no proof that every Secret left it';
  return undefined;
}

/** Same vault and key name, whatever the version. */
export function sameKeyName(a: string, b: string): boolean {
  const x = parseKeyId(a);
  const y = parseKeyId(b);
  return (
    x.vaultName.toLowerCase() === y.vaultName.toLowerCase() && x.name.toLowerCase() === y.name.toLowerCase()
  );
}

/** Its previous slot is unknown and it uses the key now (or no key kmsflow can name): that slot may hold `keyId`. */
export function unknownOnSameKey(cluster: EstateCluster, keyId: string): boolean {
  return (
    cluster.previousUnknown !== undefined &&
    (!cluster.slots.current || sameKeyName(cluster.slots.current, keyId))
  );
}

/**
 * Why a cluster must be rotated before a version can be retired, or undefined when it need not: it holds the
 * version (either slot, or Secrets may still be under it), or it is on the same key and kmsflow cannot see its
 * previous slot (one rotation makes that slot known).
 */
export function mustLeaveKey(cluster: EstateCluster, keyId: string): string | undefined {
  const holds = holdsKey(cluster, keyId);
  if (holds) return holds;
  if (unknownOnSameKey(cluster, keyId))
    return `its previous key slot is unknown (${cluster.previousUnknown}) and it uses the same key`;
  return undefined;
}

/** Whether a cluster holds a key of this vault in a slot kmsflow knows of. */
export function usesVault(cluster: EstateCluster, vaultName: string): boolean {
  const inVault = (k: string | undefined) =>
    !!k && parseKeyId(k).vaultName.toLowerCase() === vaultName.toLowerCase();
  return inVault(cluster.slots.current) || inVault(cluster.slots.previous);
}

/** Does the operator's list (names or resource ids) name this cluster? */
export function namedIn(list: readonly string[] | undefined, cluster: EstateCluster): boolean {
  return (list ?? []).some(
    (entry) =>
      entry.toLowerCase() === cluster.id.toLowerCase() || entry.toLowerCase() === cluster.name.toLowerCase(),
  );
}

/** A cluster as operators name it in messages: its name, and its subscription when it differs from `from`. */
export function clusterLabel(cluster: EstateCluster, fromClusterId: string): string {
  const own = parseClusterId(fromClusterId).subscriptionId.toLowerCase();
  return cluster.subscriptionId.toLowerCase() === own
    ? cluster.name
    : `${cluster.name} (subscription ${cluster.subscriptionId})`;
}
