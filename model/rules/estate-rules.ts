/**
 * Rules across clusters: a key version, a vault or an identity is shared by many clusters, possibly in other
 * subscriptions, and a change that is safe for the cluster being changed can still break another one. Both of
 * AKS's key slots count (the article, L212: the previous key stays cached and needed until the next rotation),
 * and a slot kmsflow cannot see is treated as holding the key unless the operator vouches for it.
 */
import { clusterLabel, type EstateCluster, holdsKey, namedIn, unknownOnSameKey, usesVault } from '../estate';
import { parseVaultId } from '../ids';
import type { PreflightFacts } from '../preflight-facts';
import { defineRule } from './rule';
import { subjectVaultName } from './vault-rules';

function names(f: PreflightFacts, clusters: EstateCluster[]): string {
  return clusters.map((c) => clusterLabel(c, f.input.clusterId)).join(', ');
}

export const keyHeldByOtherCluster = defineRule({
  code: 'KeyHeldByOtherCluster',
  severity: 'error',
  source: 'L212',
  when: "The version the procedure disables or expires is in another cluster's current or previous key slot, or that cluster's Secrets may still be under it.",
  needs: ['estate', 'estate-slots'],
  check: (f) => {
    const keyId = f.input.retiresKeyId;
    if (!keyId || !f.estate) return undefined;
    return f.estate.clusters.flatMap((c) => {
      const how = holdsKey(c, keyId);
      if (!how) return [];
      return [
        {
          message: `Cluster ${clusterLabel(c, f.input.clusterId)} still depends on ${keyId}: ${how}. Disabling or expiring it would fail that cluster's KMS plugin (kms-providers) and leave its Secrets unreadable after its API server restarts.`,
          fix: `Retire the version across the estate: kmsflow campaign start retire-version --key-id ${keyId} --subscription <each subscription> (it rotates every cluster off it, proves each, then disables it once); or rotate ${c.name} off it yourself (twice when it is in the current slot).`,
        },
      ];
    });
  },
});

export const previousSlotUnknown = defineRule({
  code: 'PreviousSlotUnknown',
  severity: 'error',
  source: 'L212',
  when: 'Another cluster on the same key has a previous key slot kmsflow cannot know (no key ledger, or its key changed outside kmsflow), so it may hold the version being retired; a warning for a cluster on another key now, or one named with --assume-unused.',
  needs: ['estate', 'estate-slots'],
  check: (f) => {
    const keyId = f.input.retiresKeyId;
    if (!keyId || !f.estate) return undefined;
    const unknown = f.estate.clusters.filter((c) => c.previousUnknown !== undefined && !holdsKey(c, keyId));
    const vouched = unknown.filter((c) => namedIn(f.input.estate?.assumeUnused, c));
    const open = unknown.filter((c) => !namedIn(f.input.estate?.assumeUnused, c));
    return [
      ...open.map((c) => {
        // A cluster on the same key now most likely had this version before its last rotation; one on another
        // key would hold it only if it changed key names outside kmsflow: reported, not refused.
        const sameKey = unknownOnSameKey(c, keyId);
        return {
          severity: sameKey ? ('error' as const) : ('warning' as const),
          message: sameKey
            ? `Cannot verify that cluster ${clusterLabel(c, f.input.clusterId)} no longer needs ${keyId}: ${c.previousUnknown}, and it uses the same key, so its previous key slot may hold this version.`
            : `Cannot verify cluster ${clusterLabel(c, f.input.clusterId)}'s previous key slot (${c.previousUnknown}); it uses another key now (${c.slots.current}), so it holds ${keyId} only if its key changed from this one outside kmsflow.`,
          fix: `Rotate ${c.name} once with kmsflow (its key ledger then knows both slots), or, if you know its previous slot does not hold this version, pass --assume-unused ${c.name} (recorded in the key ledger).`,
        };
      }),
      ...vouched.map((c) => ({
        severity: 'warning' as const,
        message: `Cluster ${clusterLabel(c, f.input.clusterId)}'s previous key slot is unknown to kmsflow (${c.previousUnknown}); the operator declared it does not hold ${keyId} (--assume-unused).`,
      })),
    ];
  },
});

export const estateUnverified = defineRule({
  code: 'EstateUnverified',
  severity: 'error',
  source: 'kmsflow',
  when: "Part of the estate in scope could not be read (a subscription's clusters, a cluster's ledger): the clusters there cannot be checked; a warning with --accept-unverified.",
  needs: ['estate'],
  check: (f) =>
    (f.estate?.unreadable ?? []).map((u) => ({
      severity: f.input.estate?.acceptUnverified ? ('warning' as const) : ('error' as const),
      message: `Cannot verify ${u.what}: ${u.reason}. Clusters there may depend on what this procedure changes.`,
      fix: "Grant the worker's identity Reader on that scope (docs/permissions.md), or pass --accept-unverified to go ahead unchecked (recorded in the key ledger).",
    })),
});

export const vaultInPublicUse = defineRule({
  code: 'VaultInPublicUse',
  severity: 'error',
  source: 'L26',
  when: "The procedure closes a vault's public network access while another cluster reaches that vault in Public mode.",
  needs: ['estate'],
  check: (f) => {
    if (!f.input.closesVaultPublicAccess || !f.estate) return undefined;
    const vaultName = f.input.vaultResourceId
      ? parseVaultId(f.input.vaultResourceId).name
      : subjectVaultName(f);
    if (!vaultName) return undefined;
    const publicUsers = f.estate.clusters.filter(
      (c) => usesVault(c, vaultName) && (c.kms.networkAccess ?? 'Public') === 'Public',
    );
    if (publicUsers.length === 0) return undefined;
    return {
      message: `Key vault ${vaultName} is used in Public mode by ${names(f, publicUsers)}: closing its public network access fails their KMS plugins (kms-providers) at once.`,
      fix: `Leave the shared vault open and move this cluster instead: rotate it to a key of a private vault of its own (kmsflow start rotate --key-id <key> --mode Private --vault-id <vault id>, one update: the article's L218); or first move every cluster listed off ${vaultName}.`,
    };
  },
});

export const ESTATE_RULES = [
  keyHeldByOtherCluster,
  previousSlotUnknown,
  estateUnverified,
  vaultInPublicUse,
] as const;
