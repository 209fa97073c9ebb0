import { CLUSTER_CHECKS, IDENTITY_PATH_CHECKS, NEEDED_KEY_CHECKS } from '../../model/rules';
import { disableAndReencryptSteps } from '../procedure-steps';
import { defineProcedure, type ProcedureInputBase, type ProcedureOutcome, runDefinition } from './common';

export type DisableKmsInput = ProcedureInputBase;

export const disableKmsProcedure = defineProcedure<DisableKmsInput, 'disable-kms'>({
  name: 'disable-kms',
  command: 'disable',
  summary: 'disable KMS (Secrets are then stored unencrypted)',
  flags: [],
  input: (_flags, base) => base,
  preflightInput: (input) => ({ clusterId: input.clusterId, leavesKmsV1: true }),
  rules: [
    ...CLUSTER_CHECKS,
    'AlreadyDisabled',
    'PlaintextWindow',
    ...IDENTITY_PATH_CHECKS,
    ...NEEDED_KEY_CHECKS,
    'KmsV1SecretLimit',
  ],
  steps: (run) => [
    ...disableAndReencryptSteps(run, { canary: 'canary', reencrypt: 'reencrypt' }, 'Disable KMS'),
  ],
});

/** Disable KMS, then re-encrypt every Secret (they are then stored unencrypted); the key stays valid. */
export function disableKms(input: DisableKmsInput): Promise<ProcedureOutcome> {
  return runDefinition(disableKmsProcedure, input);
}
