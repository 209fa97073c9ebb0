import { kmsEnableCommand } from '../kms-settings';
import { baselineReencryptStep, canaryStep, clusterChangeStep, preflightStep, reencryptStep, rotationGuardStep } from '../procedure-steps';
import { sameKeyId } from '../ids';
import { type ProcedureDefinition, type ProcedureInputBase, type ProcedureOutcome, runDefinition } from './common';

export interface RotateKeyInput extends ProcedureInputBase {
  /** The new versioned key id. */
  keyId: string;
}

export const rotateKeyProcedure: ProcedureDefinition<RotateKeyInput> = {
  name: 'rotate-key',
  preflightInput: (input, _run, start) => ({
    clusterId: input.clusterId,
    keyId: input.keyId,
    networkAccess: start.kms.networkAccess,
    vaultResourceId: start.kms.vaultResourceId,
  }),
  steps: (run, input, start) => [
    preflightStep(run, 'rotate-key', () => rotateKeyProcedure.preflightInput(input, run, start)),
    rotationGuardStep(run),
    // Rotating to the key already in use (finishing a rotation whose re-encryption was cancelled): the
    // `reencrypt` step below is that re-encryption, so no baseline before it.
    baselineReencryptStep(run, () => (sameKeyId(start.kms.keyId, input.keyId) ? undefined : start.kms.keyId)),
    canaryStep(run),
    clusterChangeStep(run, {
      id: 'rotate',
      title: 'Rotate KMS to the new key version',
      command: kmsEnableCommand(run.az, { keyId: input.keyId, networkAccess: start.kms.networkAccess ?? 'Public', vaultResourceId: start.kms.vaultResourceId }),
      change: () => ({
        kind: 'enable-kms',
        keyId: input.keyId,
        networkAccess: run.report?.cluster.kms.networkAccess ?? start.kms.networkAccess ?? 'Public',
        vaultResourceId: run.report?.cluster.kms.vaultResourceId ?? start.kms.vaultResourceId,
      }),
      reencryptOnFailure: true,
    }),
    reencryptStep(run, 'reencrypt', () => ({ kms: 'enabled', keyId: input.keyId })),
  ],
};

/** Rotate to a new key version in the same mode, re-encrypt, and prove it; the previous key stays valid. */
export function rotateKey(input: RotateKeyInput): Promise<ProcedureOutcome> {
  return runDefinition(rotateKeyProcedure, input);
}
