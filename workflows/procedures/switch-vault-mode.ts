import { canaryStep, clusterChangeStep, kmsEnableCommand, preflightStep, reencryptStep, vaultAccessStep } from '../procedure-steps';
import { DISABLE_GATE, type NetworkAccess, type ProcedureDefinition, type ProcedureInputBase, type ProcedureOutcome, runDefinition } from './common';

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
      canaryStep(run, 'canary-1'),
      clusterChangeStep(run, {
        id: 'disable-kms',
        title: 'Disable KMS (the mode cannot change while it is on)',
        command: `az aks update ${run.az} --disable-azure-keyvault-kms`,
        gate: DISABLE_GATE,
        change: () => ({ kind: 'disable-kms' }),
        reencryptOnFailure: true,
      }),
      reencryptStep(run, 'reencrypt-1', () => ({ kms: 'disabled' })),
      vaultAccessStep(run, () => input.vaultResourceId, input.to === 'Private' ? 'Disabled' : 'Enabled'),
      canaryStep(run, 'canary-2'),
      clusterChangeStep(run, {
        id: 'enable-kms',
        title: `Enable KMS in ${input.to} mode`,
        command: kmsEnableCommand(run, keyId, input.to, input.vaultResourceId),
        change: () => ({ kind: 'enable-kms', keyId, networkAccess: input.to, vaultResourceId: input.vaultResourceId }),
        reencryptOnFailure: true,
      }),
      reencryptStep(run, 'reencrypt-2', () => ({ kms: 'enabled', keyId })),
    ];
  },
};

/** The mode cannot change while KMS is on: disable → re-encrypt → vault access → enable in the new mode → re-encrypt. */
export function switchVaultMode(input: SwitchVaultModeInput): Promise<ProcedureOutcome> {
  return runDefinition(switchVaultModeProcedure, input);
}
