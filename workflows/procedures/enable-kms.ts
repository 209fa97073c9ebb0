import { enableAndReencryptSteps, preflightStep } from '../procedure-steps';
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
    ...enableAndReencryptSteps(run, { canary: 'canary', reencrypt: 'reencrypt' }, `Enable KMS (${input.networkAccess})`, input),
  ],
};

/** Enable KMS with a versioned key (Public, or Private with the vault id), then re-encrypt every Secret. */
export function enableKms(input: EnableKmsInput): Promise<ProcedureOutcome> {
  return runDefinition(enableKmsProcedure, input);
}
