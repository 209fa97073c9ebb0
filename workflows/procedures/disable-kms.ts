import { disableAndReencryptSteps, preflightStep } from '../procedure-steps';
import { type ProcedureDefinition, type ProcedureInputBase, type ProcedureOutcome, runDefinition } from './common';

export type DisableKmsInput = ProcedureInputBase;

export const disableKmsProcedure: ProcedureDefinition<DisableKmsInput> = {
  name: 'disable-kms',
  preflightInput: (input) => ({ clusterId: input.clusterId }),
  steps: (run, input, start) => [
    preflightStep(run, 'disable-kms', () => disableKmsProcedure.preflightInput(input, run, start)),
    ...disableAndReencryptSteps(run, { canary: 'canary', reencrypt: 'reencrypt' }, 'Disable KMS'),
  ],
};

/** Disable KMS, then re-encrypt every Secret (they are then stored unencrypted); the key stays valid. */
export function disableKms(input: DisableKmsInput): Promise<ProcedureOutcome> {
  return runDefinition(disableKmsProcedure, input);
}
