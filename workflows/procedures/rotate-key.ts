import {
  CLUSTER_CHECKS,
  NEEDED_KEY_CHECKS,
  NEW_CONFIGURATION_CHECKS,
  TARGET_KEY_CHECKS,
} from '../../model/rules';
import { kmsEnableCommand } from '../../model/kms-settings';
import { parseKeyId, parseVaultId } from '../../model/ids';
import { privateNeedsVault, ProcedureInputError, required } from '../../model/procedure-flags';
import {
  baselineReencryptStep,
  canaryStep,
  clusterChangeStep,
  reencryptStep,
  rotationGuardStep,
} from '../procedure-steps';
import type { ClusterDigest, KmsState, NetworkAccess } from '../../model/cluster-model';
import { sameKeyId, sameVault } from '../../model/ids';
import type { KmsSettings } from '../../model/kms-settings';
import { defineProcedure, type ProcedureInputBase, type ProcedureOutcome, runDefinition } from './common';

export interface RotateKeyInput extends ProcedureInputBase {
  /** Moving to a key of another vault: that vault's mode (default: the mode in use). */
  networkAccess?: NetworkAccess;
  /** Moving to another vault in Private mode: its resource id. */
  vaultResourceId?: string;
  /** The new versioned key id. */
  keyId: string;
}

/** True when the new key is in another vault than the key in use: the article's direct move (L218). */
const movesVault = (input: RotateKeyInput, start: ClusterDigest) =>
  !!start.kms.keyId && !sameVault(start.kms.keyId, input.keyId);

/** The KMS settings after the rotation: the new vault's mode and id when it moves, else the ones in use. */
function target(input: RotateKeyInput, current: KmsState): KmsSettings {
  const moving = !!current.keyId && !sameVault(current.keyId, input.keyId);
  return {
    keyId: input.keyId,
    networkAccess: input.networkAccess ?? current.networkAccess ?? 'Public',
    vaultResourceId: input.vaultResourceId ?? (moving ? undefined : current.vaultResourceId),
  };
}

export const rotateKeyProcedure = defineProcedure<RotateKeyInput, 'rotate-key'>({
  name: 'rotate-key',
  command: 'rotate',
  summary: 'rotate to a new versioned key',
  flags: ['keyId', 'mode', 'vaultResourceId'],
  // To a key of another vault (the article: one az aks update, in either mode): --mode and --vault-id name
  // the new vault's mode; without them the rotation keeps the vault's mode.
  input: (flags, base) => {
    privateNeedsVault(flags.mode, flags);
    const keyId = required('rotate', flags, 'keyId');
    const vault = flags.vaultResourceId && parseVaultId(flags.vaultResourceId).name;
    if (vault && vault.toLowerCase() !== parseKeyId(keyId).vaultName.toLowerCase()) {
      throw new ProcedureInputError(
        `--vault-id names vault ${vault}, but --key-id is a key of ${parseKeyId(keyId).vaultName}: give the vault that holds the key.`,
      );
    }
    return {
      ...base,
      keyId,
      ...(flags.mode ? { networkAccess: flags.mode } : {}),
      ...(flags.vaultResourceId ? { vaultResourceId: flags.vaultResourceId } : {}),
    };
  },
  preflightInput: (input, _run, start) => ({
    clusterId: input.clusterId,
    keyId: input.keyId,
    networkAccess: target(input, start.kms).networkAccess,
    vaultResourceId: target(input, start.kms).vaultResourceId,
  }),
  rules: [
    ...CLUSTER_CHECKS,
    'KmsNotEnabled',
    'SameKeyUnproven',
    'SameKey',
    'ModeChangeWhileEnabled',
    'MovesVault',
    'LeavingVaultUnreachable',
    ...TARGET_KEY_CHECKS,
    ...NEW_CONFIGURATION_CHECKS,
    ...NEEDED_KEY_CHECKS,
    'KmsV1SecretLimit',
  ],
  steps: (run, input, start) => [
    rotationGuardStep(run),
    // Rotating to the key already in use (finishing a rotation whose re-encryption was cancelled): the
    // `reencrypt` step below is that re-encryption, so no baseline before it.
    baselineReencryptStep(run, () => (sameKeyId(start.kms.keyId, input.keyId) ? undefined : start.kms.keyId)),
    canaryStep(run),
    clusterChangeStep(run, {
      id: 'rotate',
      title: movesVault(input, start)
        ? 'Rotate KMS to the key of the other vault'
        : 'Rotate KMS to the new key version',
      command: kmsEnableCommand(run.az, target(input, start.kms)),
      change: () => ({ kind: 'enable-kms', ...target(input, run.report?.cluster.kms ?? start.kms) }),
      effect: { clusterOperation: 'kms', keySlot: { set: input.keyId } },
      reencryptOnFailure: true,
    }),
    reencryptStep(run, 'reencrypt', () => ({ kms: 'enabled', keyId: input.keyId })),
  ],
});

/**
 * Rotate to a new key version (in the same vault and mode, or to a key of another vault in either mode),
 * re-encrypt, and prove it; the previous key, and its vault, stay valid.
 */
export function rotateKey(input: RotateKeyInput): Promise<ProcedureOutcome> {
  return runDefinition(rotateKeyProcedure, input);
}
