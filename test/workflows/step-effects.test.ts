// Every step declares what it does as data (an ARM operation, a key set in AKS's slots, a re-encryption, the
// vault's access, a key version created or retired); plans are built from those declarations alone. Each
// procedure's declared effects, in order, for a cluster on 1.26 with KMS on under K0 (no server needed).
import { expect, it } from 'vitest';
import type { ClusterDigest } from '../../model/cluster-model';
import type { StepEffect } from '../../workflows/engine/procedure';
import { ProcedureRun } from '../../workflows/procedure-steps';
import { PROCEDURES, type ProcedureName, type ProcedureRequestOf } from '../../workflows/procedures';
import { type ProcedureInputBase, stepsOf } from '../../workflows/procedures/common';

const CLUSTER =
  '/subscriptions/s1/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/aks';
const VAULT = '/subscriptions/s1/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv-kms';
const K0 = 'https://kv-kms.vault.azure.net/keys/kms/v0';
const K1 = 'https://kv-kms.vault.azure.net/keys/kms/v1';

const START: ClusterDigest = {
  id: CLUSTER,
  name: 'aks',
  location: 'westeurope',
  kubernetesVersion: '1.26.3',
  provisioningState: 'Succeeded',
  identity: { type: 'UserAssigned', userAssigned: [] },
  kms: { enabled: true, keyId: K0, networkAccess: 'Public' },
  apiServerVnetIntegration: false,
  powerState: 'Running',
  nodePools: [],
};

/** The steps' effects in order, without the steps that declare none; built as a workflow builds them. */
function effects(request: ProcedureRequestOf): StepEffect[] {
  const procedure = PROCEDURES.find((p) => p.definition.name === request.procedure)!;
  // Only building the steps: a run outside a workflow has no workflow info, and none is read here.
  const run = Object.assign(Object.create(ProcedureRun.prototype) as ProcedureRun, { clusterId: CLUSTER });
  const definition = procedure.definition as Parameters<typeof stepsOf<ProcedureInputBase>>[0];
  return stepsOf(definition, run, request.input, START)
    .map((s) => s.effect)
    .filter((e): e is StepEffect => e !== undefined);
}

const reencrypt = { reencrypts: 'after-change' } as const;
const baseline = { reencrypts: 'baseline' } as const;
const disable = { clusterOperation: 'kms', keySlot: 'kms-off' } as const;
const set = (keyId: string) => ({ clusterOperation: 'kms', keySlot: { set: keyId } }) as const;

const EXPECTED: Record<ProcedureName, [ProcedureRequestOf, StepEffect[]]> = {
  'enable-kms': [
    { procedure: 'enable-kms', input: { clusterId: CLUSTER, keyId: K1, networkAccess: 'Public' } },
    [set(K1), reencrypt],
  ],
  'disable-kms': [{ procedure: 'disable-kms', input: { clusterId: CLUSTER } }, [disable, reencrypt]],
  'rotate-key': [
    { procedure: 'rotate-key', input: { clusterId: CLUSTER, keyId: K1 } },
    [baseline, set(K1), reencrypt],
  ],
  'retire-key': [
    { procedure: 'retire-key', input: { clusterId: CLUSTER, how: 'expire' } },
    [
      baseline,
      { createsKeyVersion: true },
      set('<new version 2>'),
      reencrypt,
      { createsKeyVersion: true },
      set('<new version 3>'),
      reencrypt,
      { retiresKey: 'expire' },
    ],
  ],
  'switch-vault-mode': [
    { procedure: 'switch-vault-mode', input: { clusterId: CLUSTER, to: 'Private', vaultResourceId: VAULT } },
    [disable, reencrypt, { vaultPublicAccess: 'Disabled' }, set(K0), reencrypt],
  ],
  'migrate-to-kms-v2': [
    { procedure: 'migrate-to-kms-v2', input: { clusterId: CLUSTER, targetVersion: '1.29' } },
    [
      disable,
      reencrypt,
      { clusterOperation: 'upgrade' },
      { clusterOperation: 'upgrade' },
      { clusterOperation: 'upgrade' },
      set(K0),
      reencrypt,
    ],
  ],
};

it.each(PROCEDURES.map((p) => p.definition.name))('%s declares the effect of every step', (name) => {
  const [request, expected] = EXPECTED[name];
  expect(effects(request)).toEqual(expected);
});

it('names the keys a retirement was given in the key slots it plans', () => {
  const input = { clusterId: CLUSTER, newKeyIds: [K1, `${K1}b`] as [string, string] };
  expect(effects({ procedure: 'retire-key', input }).flatMap((e) => (e.keySlot ? [e.keySlot] : []))).toEqual([
    { set: K1 },
    { set: `${K1}b` },
  ]);
});
