import { canaryStep, clusterChangeStep, preflightStep, reencryptStep } from '../procedure-steps';
import { DISABLE_GATE, type ProcedureDefinition, type ProcedureInputBase, type ProcedureOutcome, runDefinition } from './common';

export type DisableKmsInput = ProcedureInputBase;

export const disableKmsProcedure: ProcedureDefinition<DisableKmsInput> = {
  name: 'disable-kms',
  preflightInput: (input) => ({ clusterId: input.clusterId }),
  steps: (run, input, start) => [
    preflightStep(run, 'disable-kms', () => disableKmsProcedure.preflightInput(input, run, start)),
    canaryStep(run),
    clusterChangeStep(run, {
      id: 'disable-kms',
      title: 'Disable KMS',
      command: `az aks update ${run.az} --disable-azure-keyvault-kms`,
      gate: DISABLE_GATE,
      change: () => ({ kind: 'disable-kms' }),
      reencryptOnFailure: true,
    }),
    reencryptStep(run, 'reencrypt', () => ({ kms: 'disabled' })),
  ],
};

/** Disable KMS, then re-encrypt every Secret (they are then stored unencrypted); the key stays valid. */
export function disableKms(input: DisableKmsInput): Promise<ProcedureOutcome> {
  return runDefinition(disableKmsProcedure, input);
}
