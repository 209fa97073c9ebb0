import {
  CLUSTER_CHECKS,
  NEEDED_KEY_CHECKS,
  NEW_CONFIGURATION_CHECKS,
  TARGET_KEY_CHECKS,
} from '../../model/rules';
import { required } from '../../model/procedure-flags';
import { disableAndReencryptSteps, enableAndReencryptSteps, vaultAccessStep } from '../procedure-steps';
import {
  defineProcedure,
  type NetworkAccess,
  type ProcedureInputBase,
  type ProcedureOutcome,
  runDefinition,
} from './common';

export interface SwitchVaultModeInput extends ProcedureInputBase {
  to: NetworkAccess;
  vaultResourceId: string;
  /** The key to enable with in the new mode; defaults to the key in use. */
  keyId?: string;
}

export const switchVaultModeProcedure = defineProcedure<SwitchVaultModeInput, 'switch-vault-mode'>({
  name: 'switch-vault-mode',
  command: 'switch-mode',
  summary: "switch the vault's network access Public <-> Private",
  flags: ['mode', 'vaultResourceId', 'keyId'],
  input: (flags, base) => ({
    ...base,
    to: required('switch-mode', flags, 'mode', 'the mode to switch to, Public or Private'),
    vaultResourceId: required('switch-mode', flags, 'vaultResourceId'),
    ...(flags.keyId ? { keyId: flags.keyId } : {}),
  }),
  preflightInput: (input, _run, start) => ({
    clusterId: input.clusterId,
    keyId: input.keyId ?? start.kms.keyId,
    networkAccess: input.to,
    vaultResourceId: input.vaultResourceId,
    disablesKms: true,
    ...(input.to === 'Public' ? { opensVaultPublicAccess: true } : { closesVaultPublicAccess: true }),
  }),
  rules: [
    ...CLUSTER_CHECKS,
    'KmsNotEnabled',
    'SameMode',
    ...TARGET_KEY_CHECKS,
    'VaultIdRequired',
    ...NEW_CONFIGURATION_CHECKS,
    ...NEEDED_KEY_CHECKS,
    'KmsV1SecretLimit',
    'VaultInPublicUse',
    'EstateUnverified',
  ],
  steps: (run, input, start) => {
    const keyId = input.keyId ?? start.kms.keyId ?? '<key in use>';
    return [
      ...disableAndReencryptSteps(
        run,
        { canary: 'canary-1', reencrypt: 'reencrypt-1' },
        'Disable KMS (the mode cannot change while it is on)',
      ),
      vaultAccessStep(run, () => input.vaultResourceId, input.to === 'Private' ? 'Disabled' : 'Enabled'),
      ...enableAndReencryptSteps(
        run,
        { canary: 'canary-2', reencrypt: 'reencrypt-2' },
        `Enable KMS in ${input.to} mode`,
        {
          keyId,
          networkAccess: input.to,
          vaultResourceId: input.vaultResourceId,
        },
      ),
    ];
  },
});

/** The mode cannot change while KMS is on: disable → re-encrypt → vault access → enable in the new mode → re-encrypt. */
export function switchVaultMode(input: SwitchVaultModeInput): Promise<ProcedureOutcome> {
  return runDefinition(switchVaultModeProcedure, input);
}
