import {
  CLUSTER_CHECKS,
  NEEDED_KEY_CHECKS,
  NEW_CONFIGURATION_CHECKS,
  TARGET_KEY_CHECKS,
} from '../../model/rules';
import { privateNeedsVault, required } from '../../model/procedure-flags';
import { enableAndReencryptSteps } from '../procedure-steps';
import {
  defineProcedure,
  type NetworkAccess,
  type ProcedureInputBase,
  type ProcedureOutcome,
  runDefinition,
} from './common';

export interface EnableKmsInput extends ProcedureInputBase {
  keyId: string;
  networkAccess: NetworkAccess;
  /** Required for Private. */
  vaultResourceId?: string;
}

export const enableKmsProcedure = defineProcedure<EnableKmsInput, 'enable-kms'>({
  name: 'enable-kms',
  command: 'enable',
  summary: 'enable KMS with a versioned key (Public, or Private with --vault-id)',
  flags: ['keyId', 'mode', 'vaultResourceId'],
  input: (flags, base) => {
    const networkAccess = flags.mode ?? 'Public';
    privateNeedsVault(networkAccess, flags);
    const keyId = required('enable', flags, 'keyId');
    return {
      ...base,
      keyId,
      networkAccess,
      ...(flags.vaultResourceId ? { vaultResourceId: flags.vaultResourceId } : {}),
    };
  },
  preflightInput: (input) => ({
    clusterId: input.clusterId,
    keyId: input.keyId,
    networkAccess: input.networkAccess,
    vaultResourceId: input.vaultResourceId,
  }),
  rules: [
    ...CLUSTER_CHECKS,
    'AlreadyEnabled',
    'ModeChangeWhileEnabled',
    'UseRotate',
    ...TARGET_KEY_CHECKS,
    ...NEW_CONFIGURATION_CHECKS,
    ...NEEDED_KEY_CHECKS,
    'KmsV1SecretLimit',
  ],
  steps: (run, input) => [
    ...enableAndReencryptSteps(
      run,
      { canary: 'canary', reencrypt: 'reencrypt' },
      `Enable KMS (${input.networkAccess})`,
      input,
    ),
  ],
});

/** Enable KMS with a versioned key (Public, or Private with the vault id), then re-encrypt every Secret. */
export function enableKms(input: EnableKmsInput): Promise<ProcedureOutcome> {
  return runDefinition(enableKmsProcedure, input);
}
