import {
  CLUSTER_CHECKS,
  NEEDED_KEY_CHECKS,
  NEW_CONFIGURATION_CHECKS,
  TARGET_KEY_CHECKS,
} from '../../model/rules';
import type { StepDefinition } from '../engine/procedure';
import { upgradeHops } from '../../model/ids';
import { required } from '../../model/procedure-flags';
import { clusterChangeStep, disableAndReencryptSteps, enableAndReencryptSteps } from '../procedure-steps';
import { defineProcedure, type ProcedureInputBase, type ProcedureOutcome, runDefinition } from './common';

export interface MigrateToKmsV2Input extends ProcedureInputBase {
  /** Kubernetes version to reach, ≥ 1.27 (e.g. "1.29"). */
  targetVersion: string;
  /** The key to enable KMS v2 with; defaults to the key in use. */
  keyId?: string;
}

/**
 * Clusters below 1.27 with KMS on cannot upgrade: disable KMS → re-encrypt → upgrade one minor version at
 * a time (control plane and node pools, each hop approved) → enable KMS (now v2) → re-encrypt.
 */
export const migrateToKmsV2Procedure = defineProcedure<MigrateToKmsV2Input, 'migrate-to-kms-v2'>({
  name: 'migrate-to-kms-v2',
  command: 'migrate-v2',
  summary: 'upgrade a KMS v1 cluster (< 1.27) to KMS v2',
  flags: ['targetVersion', 'keyId'],
  input: (flags, base) => ({
    ...base,
    targetVersion: required('migrate-v2', flags, 'targetVersion'),
    ...(flags.keyId ? { keyId: flags.keyId } : {}),
  }),
  preflightInput: (input, _run, start) => ({
    clusterId: input.clusterId,
    keyId: input.keyId ?? start.kms.keyId,
    targetVersion: input.targetVersion,
    networkAccess: start.kms.networkAccess ?? 'Public',
    vaultResourceId: start.kms.vaultResourceId,
    disablesKms: true,
    leavesKmsV1: true,
  }),
  rules: [
    ...CLUSTER_CHECKS,
    'AlreadyKmsV2',
    'TargetVersionRequired',
    'TargetBelowKmsV2',
    'TargetVersionTooOld',
    'UpgradePath',
    'NoUpgradePath',
    ...TARGET_KEY_CHECKS,
    ...NEW_CONFIGURATION_CHECKS,
    ...NEEDED_KEY_CHECKS,
    'KmsV1SecretLimit',
  ],
  steps: (run, input, start) => {
    const keyId = input.keyId ?? start.kms.keyId ?? '<key in use>';
    const mode = start.kms.networkAccess ?? 'Public';
    const upgrades: StepDefinition[] = upgradeHops(start.kubernetesVersion, input.targetVersion).map(
      (version) =>
        clusterChangeStep(run, {
          id: `upgrade-${version}`,
          title: `Upgrade control plane and node pools to ${version}`,
          command: `az aks upgrade ${run.az} --kubernetes-version ${version}`,
          gate: {
            id: `upgrade-${version}`,
            prompt: `The cluster (control plane and every node pool) will be upgraded to ${version}.`,
          },
          change: () => ({ kind: 'upgrade', version }),
          effect: { clusterOperation: 'upgrade' },
        }),
    );
    return [
      ...disableAndReencryptSteps(run, { canary: 'canary-1', reencrypt: 'reencrypt-1' }, 'Disable KMS v1'),
      ...upgrades,
      ...enableAndReencryptSteps(
        run,
        { canary: 'canary-2', reencrypt: 'reencrypt-2' },
        'Enable KMS (now v2)',
        {
          keyId,
          networkAccess: mode,
          vaultResourceId: start.kms.vaultResourceId,
        },
      ),
    ];
  },
});

export function migrateToKmsV2(input: MigrateToKmsV2Input): Promise<ProcedureOutcome> {
  return runDefinition(migrateToKmsV2Procedure, input);
}
