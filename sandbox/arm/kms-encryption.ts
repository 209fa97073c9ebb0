/**
 * How an AKS KMS configuration becomes the API server's encryption configuration: KMS v1 below 1.27, v2
 * from 1.27, identity when KMS is off; two key slots (current, previous) that shift on every key change,
 * so after two rotations the oldest key is gone (reference/kubernetes.md §2.2).
 */
import type { ClusterEncryption, StorageProvider } from '../contracts';
import { sameKeyVersion } from '../keyvault/key-ids';
import type { AzureKeyVaultKms, KmsSlotPath } from '../store';
import { minorOf } from './versions';

export const KMS_V2_MIN_MINOR = 27;

export function kmsProviderFor(kubernetesVersion: string, keyId: string): StorageProvider {
  return minorOf(kubernetesVersion) >= KMS_V2_MIN_MINOR
    ? { type: 'kms-v2', keyId }
    : { type: 'kms-v1', keyId };
}

export type KeySlots = { current?: string; previous?: string };

/** Slots after an operation that leaves KMS as `kms`: enabling with a new key pushes the current key to previous. */
export function shiftKeySlots(slots: KeySlots, kms: AzureKeyVaultKms | undefined): KeySlots {
  if (!kms?.enabled || !kms.keyId || sameKeyVersion(kms.keyId, slots.current)) return { ...slots };
  return { current: kms.keyId, ...(slots.current ? { previous: slots.current } : {}) };
}

export type SlotPaths = { current?: KmsSlotPath; previous?: KmsSlotPath };

/** The network path a plugin configured with `kms` takes to its vault. */
export function slotPathOf(
  kms: Pick<AzureKeyVaultKms, 'keyVaultNetworkAccess' | 'keyVaultResourceId'>,
): KmsSlotPath {
  return kms.keyVaultNetworkAccess === 'Private'
    ? {
        networkAccess: 'Private',
        ...(kms.keyVaultResourceId ? { vaultResourceId: kms.keyVaultResourceId } : {}),
      }
    : { networkAccess: 'Public' };
}

/**
 * Slot paths after an operation that leaves KMS as `kms` (the same shift as `shiftKeySlots`): a key moving to
 * the previous slot keeps the path it was configured with; the current slot takes the new configuration's.
 * `fallback` is the path of a slot recorded before slots had their own (the cluster's mode until now).
 */
export function shiftSlotPaths(
  slots: KeySlots,
  paths: SlotPaths | undefined,
  kms: AzureKeyVaultKms | undefined,
  fallback: KmsSlotPath,
): SlotPaths {
  const before: SlotPaths = {
    ...(slots.current ? { current: paths?.current ?? fallback } : {}),
    ...(slots.previous ? { previous: paths?.previous ?? fallback } : {}),
  };
  if (!kms?.enabled || !kms.keyId) return before;
  if (sameKeyVersion(kms.keyId, slots.current)) return { ...before, current: slotPathOf(kms) };
  return { current: slotPathOf(kms), ...(before.current ? { previous: before.current } : {}) };
}

export function clusterEncryption(
  kms: AzureKeyVaultKms | undefined,
  slots: KeySlots,
  kubernetesVersion: string,
): ClusterEncryption {
  const write: StorageProvider =
    kms?.enabled && kms.keyId ? kmsProviderFor(kubernetesVersion, kms.keyId) : { type: 'identity' };
  return {
    write,
    slots: {
      ...(slots.current ? { current: slots.current } : {}),
      ...(slots.previous ? { previous: slots.previous } : {}),
    },
  };
}
