/**
 * Reads the estate around a change (model/estate.ts): every cluster of the subscriptions in scope, with its
 * KMS profile from ARM and, when asked, its previous key slot from its key ledger. Reads only; what cannot
 * be read becomes an entry of `unreadable`, never an omission.
 */
import { digestOf } from '../model/cluster-model';
import type { EstateCluster, EstateSnapshot } from '../model/estate';
import { parseClusterId, sameKeyId } from '../model/ids';
import type { LedgerView } from '../model/ledger-model';
import type { ClientFactory } from './clients';
import { classifyError } from './errors';

/** How many key ledgers one estate read queries at once. */
const LEDGER_READS_AT_ONCE = 16;

export interface EstateReads {
  readKeyLedger(clusterId: string): Promise<LedgerView>;
}

export interface EstateRequest {
  /** The cluster being changed: its subscription is always in scope, and it is left out of the snapshot. */
  clusterId?: string;
  /** More subscriptions to list (the operator's, the vault's). */
  subscriptions?: string[];
  /** Read every cluster's key ledger for its previous slot. */
  withSlots: boolean;
}

/** Subscriptions in scope: the cluster's own, those given, and the worker's configured list, each once. */
export function estateSubscriptions(
  clusterId: string | undefined,
  ...lists: (readonly string[] | undefined)[]
): string[] {
  const all = [
    ...(clusterId ? [parseClusterId(clusterId).subscriptionId] : []),
    ...lists.flatMap((l) => l ?? []),
  ];
  const seen = new Map<string, string>();
  for (const s of all) if (s && !seen.has(s.toLowerCase())) seen.set(s.toLowerCase(), s);
  return [...seen.values()];
}

export function createEstateActivities(
  clients: ClientFactory,
  reads: EstateReads,
  options: { subscriptions?: readonly string[] } = {},
) {
  /** The previous slot as the ledger knows it, or why it is unknown. */
  function previousSlot(
    ledger: LedgerView,
    armKey: string | undefined,
  ): Pick<EstateCluster, 'slots' | 'previousUnknown'> {
    const current = armKey ?? ledger.slots.current;
    if (ledger.keys.length === 0) {
      return armKey
        ? { slots: { current }, previousUnknown: 'kmsflow holds no key ledger for it' }
        : { slots: {} };
    }
    if (armKey && !sameKeyId(ledger.slots.current, armKey)) {
      return {
        slots: { current },
        previousUnknown: `its key changed outside kmsflow (ARM names ${armKey}, its key ledger ${ledger.slots.current ?? 'none'})`,
      };
    }
    if (!ledger.slots.previous) {
      return {
        slots: { current },
        previousUnknown: 'kmsflow has seen one key on it only, so the slot before that key is unknown',
      };
    }
    return { slots: { current, previous: ledger.slots.previous } };
  }

  async function readEstate(request: EstateRequest): Promise<EstateSnapshot> {
    const subscriptions = estateSubscriptions(
      request.clusterId,
      request.subscriptions,
      options.subscriptions,
    );
    const snapshot: EstateSnapshot = {
      subscriptions,
      clusters: [],
      unreadable: [],
    };
    for (const subscriptionId of subscriptions) {
      try {
        for await (const mc of clients.containerService(subscriptionId).managedClusters.list()) {
          const digest = digestOf(mc);
          if (digest.id.toLowerCase() === request.clusterId?.toLowerCase()) continue;
          snapshot.clusters.push({
            id: digest.id,
            name: digest.name,
            subscriptionId,
            kms: digest.kms,
            slots: digest.kms.keyId ? { current: digest.kms.keyId } : {},
            stillNeeded: [],
          });
        }
      } catch (err) {
        snapshot.unreadable.push({
          what: `the clusters of subscription ${subscriptionId}`,
          reason: classifyError(err).message,
        });
      }
    }
    if (!request.withSlots) return snapshot;
    // Each ledger is a Temporal query: a bounded number at a time, however large the estate.
    const queue = [...snapshot.clusters];
    const lane = async () => {
      for (let cluster = queue.shift(); cluster; cluster = queue.shift()) {
        try {
          const ledger = await reads.readKeyLedger(cluster.id);
          Object.assign(cluster, previousSlot(ledger, cluster.kms.keyId), {
            stillNeeded: ledger.stillNeeded,
          });
        } catch (err) {
          cluster.previousUnknown = `its key ledger could not be read (${classifyError(err).message})`;
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(LEDGER_READS_AT_ONCE, queue.length) }, lane));
    return snapshot;
  }

  return { readEstate };
}
