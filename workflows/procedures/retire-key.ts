import {
  CLUSTER_CHECKS,
  ESTATE_RETIREMENT_RULES,
  IDENTITY_PATH_CHECKS,
  KEY_VERSION_CHECKS,
  NEEDED_KEY_CHECKS,
} from '../../model/rules';
import type { ClusterDigest } from '../../model/cluster-model';
import { kmsEnableCommand } from '../../model/kms-settings';
import type { StepDefinition } from '../engine/procedure';
import {
  baselineReencryptStep,
  canaryStep,
  clusterChangeStep,
  newKeyVersionStep,
  type ProcedureRun,
  reencryptStep,
  retireStep,
  rotationGuardStep,
} from '../procedure-steps';
import { defineProcedure, type ProcedureInputBase, type ProcedureOutcome, runDefinition } from './common';

export interface RetireKeyInput extends ProcedureInputBase {
  /** The two key versions to rotate through; created as new versions of the current key when omitted. */
  newKeyIds?: [string, string];
  how?: 'disable' | 'expire';
}

/** Rotation n to the key `keyId()` returns when it runs (`planned`: the key as a plan names it). */
function rotation(
  run: ProcedureRun,
  start: ClusterDigest,
  n: 1 | 2,
  keyId: () => string,
  planned: string,
): StepDefinition[] {
  return [
    canaryStep(run, `canary-${n}`),
    clusterChangeStep(run, {
      id: `rotate-${n}`,
      title: `Rotation ${n}: switch KMS to the next key version`,
      command: kmsEnableCommand(run.az, {
        keyId: `<version ${n + 1}>`,
        networkAccess: start.kms.networkAccess ?? 'Public',
        vaultResourceId: start.kms.vaultResourceId,
      }),
      change: () => ({
        kind: 'enable-kms',
        keyId: keyId(),
        networkAccess: start.kms.networkAccess ?? 'Public',
        vaultResourceId: start.kms.vaultResourceId,
      }),
      effect: { clusterOperation: 'kms', keySlot: { set: planned } },
      reencryptOnFailure: true,
    }),
    reencryptStep(run, `reencrypt-${n}`, () => ({ kms: 'enabled', keyId: keyId() })),
  ];
}

/**
 * AKS keeps two keys: the version in use (K1) may be retired only after two rotations (K1→K2, K2→K3),
 * each followed by a proven re-encryption. Then K1's version is disabled or expired, never deleted.
 */
export const retireKeyProcedure = defineProcedure<RetireKeyInput, 'retire-key'>({
  name: 'retire-key',
  command: 'retire',
  summary: 'rotate twice, then disable or expire the old key',
  flags: ['newKeyIds', 'how'],
  input: (flags, base) => ({
    ...base,
    ...(flags.newKeyIds ? { newKeyIds: flags.newKeyIds } : {}),
    ...(flags.how ? { how: flags.how } : {}),
  }),
  preflightInput: (input, _run, start) => ({
    clusterId: input.clusterId,
    ...(input.newKeyIds ? { newKeyIds: input.newKeyIds } : {}),
    ...(start.kms.keyId ? { retiresKeyId: start.kms.keyId } : {}),
  }),
  rules: [
    ...CLUSTER_CHECKS,
    'KmsNotEnabled',
    ...KEY_VERSION_CHECKS,
    ...IDENTITY_PATH_CHECKS,
    ...NEEDED_KEY_CHECKS,
    'KmsV1SecretLimit',
    ...ESTATE_RETIREMENT_RULES,
  ],
  steps: (run, input, start) => {
    const retiring = start.kms.keyId ?? '<key in use>';
    const keys = { second: input.newKeyIds?.[0], third: input.newKeyIds?.[1] };
    return [
      rotationGuardStep(run),
      baselineReencryptStep(run, () => start.kms.keyId),
      {
        ...newKeyVersionStep(
          run,
          'new-version-2',
          () => retiring,
          (id) => (keys.second = id),
        ),
        when: () => keys.second === undefined,
      },
      ...rotation(run, start, 1, () => keys.second!, input.newKeyIds?.[0] ?? '<new version 2>'),
      {
        ...newKeyVersionStep(
          run,
          'new-version-3',
          () => keys.second!,
          (id) => (keys.third = id),
        ),
        when: () => keys.third === undefined,
      },
      ...rotation(run, start, 2, () => keys.third!, input.newKeyIds?.[1] ?? '<new version 3>'),
      retireStep(run, () => retiring, input.how ?? 'disable', input.estate),
    ];
  },
});

export function retireKey(input: RetireKeyInput): Promise<ProcedureOutcome> {
  return runDefinition(retireKeyProcedure, input);
}
