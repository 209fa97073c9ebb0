import { disableAndReencryptSteps, enableAndReencryptSteps, preflightStep, vaultAccessStep } from '../procedure-steps';
import { type NetworkAccess, type ProcedureDefinition, type ProcedureInputBase, type ProcedureOutcome, runDefinition } from './common';

export interface SwitchVaultModeInput extends ProcedureInputBase {
  to: NetworkAccess;
  vaultResourceId: string;
  /** The key to enable with in the new mode; defaults to the key in use. */
  keyId?: string;
}

export const switchVaultModeProcedure: ProcedureDefinition<SwitchVaultModeInput> = {
  name: 'switch-vault-mode',
  preflightInput: (input, _run, start) => ({
    clusterId: input.clusterId,
    keyId: input.keyId ?? start.kms.keyId,
    networkAccess: input.to,
    vaultResourceId: input.vaultResourceId,
  }),
  steps: (run, input, start) => {
    const keyId = input.keyId ?? start.kms.keyId ?? '<key in use>';
    return [
      preflightStep(run, 'switch-vault-mode', () => switchVaultModeProcedure.preflightInput(input, run, start)),
      ...disableAndReencryptSteps(run, { canary: 'canary-1', reencrypt: 'reencrypt-1' }, 'Disable KMS (the mode cannot change while it is on)'),
      vaultAccessStep(run, () => input.vaultResourceId, input.to === 'Private' ? 'Disabled' : 'Enabled'),
      ...enableAndReencryptSteps(run, { canary: 'canary-2', reencrypt: 'reencrypt-2' }, `Enable KMS in ${input.to} mode`, {
        keyId,
        networkAccess: input.to,
        vaultResourceId: input.vaultResourceId,
      }),
    ];
  },
};

/** The mode cannot change while KMS is on: disable → re-encrypt → vault access → enable in the new mode → re-encrypt. */
export function switchVaultMode(input: SwitchVaultModeInput): Promise<ProcedureOutcome> {
  return runDefinition(switchVaultModeProcedure, input);
}
