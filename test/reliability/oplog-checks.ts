/**
 * What the reliability tests read from the sandbox's operation log: the changes made since a point, and
 * whether any ARM or Key Vault mutation was sent twice for one operation.
 */
import type { OperationLogEntry } from '../../sandbox/contracts';
import type { OperationLog } from '../../sandbox/oplog';

/**
 * Fetching a cluster's kubeconfig is a POST in ARM (`listClusterUserCredential`, what `az aks get-credentials`
 * does) but changes nothing, so it does not count as a change.
 */
export const isCredentialListing = (e: OperationLogEntry) =>
  /\/listCluster(User|Admin)Credential$/.test(e.path);

/** Mutating calls after sequence number `afterSeq`, as `METHOD path (status)`, credential listings left out. */
export function changesSince(oplog: OperationLog, afterSeq: number): string[] {
  return oplog
    .entries({ afterSeq })
    .filter((e) => !isCredentialListing(e))
    .map((e) => `${e.method} ${e.path} (${e.status})`);
}

const accepted = (e: OperationLogEntry) => e.status >= 200 && e.status < 300;

/**
 * Accepted ARM writes that repeat the one before them on the same resource with the same change (the
 * operation id left out). A procedure never asks for the same change twice in a row, so a repeat is a
 * mutation a crash or a retry sent a second time.
 */
export function repeatedArmChanges(entries: readonly OperationLogEntry[]): string[] {
  const lastChange = new Map<string, string>();
  const repeats: string[] = [];
  for (const e of entries) {
    if (e.service !== 'arm' || !accepted(e) || isCredentialListing(e) || e.method === 'POST') continue;
    const change = `${e.method} ${(e.detail ?? '').replace(/operation=\S+/, '')}`;
    if (lastChange.get(e.path) === change) repeats.push(`#${e.seq} ${e.method} ${e.path}: ${e.detail ?? ''}`);
    lastChange.set(e.path, change);
  }
  return repeats;
}

/** Values that occur more than once, with their counts. */
export function duplicates(values: readonly string[]): Record<string, number> {
  const counts = new Map<string, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  return Object.fromEntries([...counts].filter(([, n]) => n > 1));
}
