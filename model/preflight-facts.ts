/**
 * Everything the preflight rules judge, read once by the preflight activity: the cluster, its ledger, the
 * keys and the vault involved, the identity's permissions, the estate around it. A read that failed is kept
 * as its problem (not found, unreachable, refused), so rules decide what it means; nothing is dropped.
 */
import type { KeyDigest, PermissionReport, VaultDigest } from './azure-digests';
import type { ClusterDigest } from './cluster-model';
import type { EstateSnapshot } from './estate';
import { sameKeyId } from './ids';
import type { LedgerView } from './ledger-model';
import type { PreflightInput } from './preflight';

export type ReadProblemKind = 'not-found' | 'unreachable' | 'forbidden' | 'foreign-tenant';

/** A read's outcome: its value, or why there is none. */
export type Read<T> = { value: T } | { problem: { kind: ReadProblemKind; message: string } };

export interface PreflightFacts {
  input: PreflightInput;
  /** The time of the read (ISO): rules compare expiry dates with it, never with a clock of their own. */
  now: string;
  cluster: ClusterDigest;
  ledger: LedgerView;
  /** Every key version read: the target, the versions to rotate through, the key in use, the ones still needed. */
  keys: { keyId: string; read: Read<KeyDigest> }[];
  /** The vault of the key the procedure works with, when one is involved. */
  vault?: { id: string; read: Read<VaultDigest> };
  /**
   * The vault KMS leaves when a rotation moves it to another vault (the article, L218): Secrets stay under its key
   * until the re-encryption is proven, so the plugin must keep reaching it. `read` absent: no subscription in scope
   * holds it.
   */
  leavingVault?: { vaultName: string; id?: string; read?: Read<VaultDigest>; permissions?: PermissionReport };
  /** A vault the key names that no subscription in scope holds: its checks could not run. */
  vaultNotFound?: { vaultName: string; subscriptions: string[] };
  /** The tenant of the cluster's user-assigned identity (not-found: the identity was deleted). */
  identityTenant?: Read<string | undefined>;
  permissions?: PermissionReport;
  secretCount?: number;
  /** migrate: the first upgrade hop and how many, or why there is no path. */
  upgrade?: { hop?: string; hops: number } | { problem: string };
  estate?: EstateSnapshot;
}

export function keyRead(facts: PreflightFacts, keyId: string): Read<KeyDigest> | undefined {
  return facts.keys.find((k) => sameKeyId(k.keyId, keyId))?.read;
}

export function valueOf<T>(read: Read<T> | undefined): T | undefined {
  return read && 'value' in read ? read.value : undefined;
}

export function problemOf<T>(
  read: Read<T> | undefined,
): { kind: ReadProblemKind; message: string } | undefined {
  return read && 'problem' in read ? read.problem : undefined;
}
