import { canaryStep, clusterChangeStep, kmsEnableCommand, preflightStep, reencryptStep } from '../procedure-steps';
import { type NetworkAccess, type ProcedureDefinition, type ProcedureInputBase, type ProcedureOutcome, runDefinition } from './common';

export interface EnableKmsInput extends ProcedureInputBase {
  keyId: string;
  networkAccess: NetworkAccess;
  /** Required for Private. */
  vaultResourceId?: string;
}

export const enableKmsProcedure: ProcedureDefinition<EnableKmsInput> = {
  name: 'enable-kms',
  preflightInput: (input) => ({ clusterId: input.clusterId, keyId: input.keyId, networkAccess: input.networkAccess, vaultResourceId: input.vaultResourceId }),
  steps: (run, input, start) => [
    preflightStep(run, 'enable-kms', () => enableKmsProcedure.preflightInput(input, run, start)),
    canaryStep(run),
    clusterChangeStep(run, {
      id: 'enable-kms',
      title: `Enable KMS (${input.networkAccess})`,
      command: kmsEnableCommand(run, input.keyId, input.networkAccess, input.vaultResourceId),
      change: () => ({ kind: 'enable-kms', keyId: input.keyId, networkAccess: input.networkAccess, vaultResourceId: input.vaultResourceId }),
      reencryptOnFailure: true,
    }),
    reencryptStep(run, 'reencrypt', () => ({ kms: 'enabled', keyId: input.keyId })),
  ],
};

/** Enable KMS with a versioned key (Public, or Private with the vault id), then re-encrypt every Secret. */
export function enableKms(input: EnableKmsInput): Promise<ProcedureOutcome> {
  return runDefinition(enableKmsProcedure, input);
}
