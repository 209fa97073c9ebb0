/**
 * `planProcedure`: preflight plus the current state, and the ordered steps a procedure would run with the
 * equivalent az / kubectl command of each, the Secrets in scope, an estimated duration and how AKS's key
 * slots change. It only reads: a plan never changes Azure or the cluster.
 */
import type { ClusterDigest } from '../activities/cluster-model';
import type { Finding } from '../activities/preflight';
import { quick } from './activity-proxies';
import { applyLedgerEvent, type LedgerState, type LedgerView } from './ledger-model';
import { ProcedureRun, runPreflight } from './procedure-steps';
import type { ProcedureDefinition, ProcedureInputBase } from './procedures/common';
import { disableKmsProcedure } from './procedures/disable-kms';
import { enableKmsProcedure, type EnableKmsInput } from './procedures/enable-kms';
import { migrateToKmsV2Procedure, type MigrateToKmsV2Input } from './procedures/migrate-to-kms-v2';
import { retireKeyProcedure, type RetireKeyInput } from './procedures/retire-key';
import { rotateKeyProcedure, type RotateKeyInput } from './procedures/rotate-key';
import { switchVaultModeProcedure, type SwitchVaultModeInput } from './procedures/switch-vault-mode';

export type PlanRequest =
  | { procedure: 'enable-kms'; input: EnableKmsInput }
  | { procedure: 'disable-kms'; input: ProcedureInputBase }
  | { procedure: 'rotate-key'; input: RotateKeyInput }
  | { procedure: 'retire-key'; input: RetireKeyInput }
  | { procedure: 'switch-vault-mode'; input: SwitchVaultModeInput }
  | { procedure: 'migrate-to-kms-v2'; input: MigrateToKmsV2Input };

export interface PlanStep {
  id: string;
  title: string;
  gate?: { id: string; prompt: string };
  command?: string;
}

export interface Plan {
  procedure: PlanRequest['procedure'];
  clusterId: string;
  cluster: ClusterDigest;
  ok: boolean;
  findings: Finding[];
  steps: PlanStep[];
  secretsInScope?: number;
  /** Rough duration: ARM operations plus two passes per re-encryption at the measured (or default) rate. */
  estimatedSeconds: number;
  secretsPerSecond: number;
  slots: { before: LedgerState['slots']; after: LedgerState['slots'] };
}

const DEFINITIONS: Record<PlanRequest['procedure'], ProcedureDefinition<never>> = {
  'enable-kms': enableKmsProcedure,
  'disable-kms': disableKmsProcedure,
  'rotate-key': rotateKeyProcedure,
  'retire-key': retireKeyProcedure,
  'switch-vault-mode': switchVaultModeProcedure,
  'migrate-to-kms-v2': migrateToKmsV2Procedure,
} as unknown as Record<PlanRequest['procedure'], ProcedureDefinition<never>>;

const DEFAULT_SECRETS_PER_SECOND = 200;
const ARM_OPERATION_SECONDS = 5 * 60;

function keysSetBy(request: PlanRequest, start: ClusterDigest): (string | undefined)[] {
  switch (request.procedure) {
    case 'enable-kms':
    case 'rotate-key':
      return [request.input.keyId];
    case 'retire-key':
      return [request.input.newKeyIds?.[0] ?? '<new version 2>', request.input.newKeyIds?.[1] ?? '<new version 3>'];
    case 'switch-vault-mode':
    case 'migrate-to-kms-v2':
      return [undefined, request.input.keyId ?? start.kms.keyId];
    case 'disable-kms':
      return [undefined];
  }
}

function slotsAfter(ledger: LedgerView, start: ClusterDigest, request: PlanRequest): LedgerState['slots'] {
  const state: LedgerState = JSON.parse(JSON.stringify(ledger));
  if (!state.slots.current && start.kms.keyId) state.slots.current = start.kms.keyId;
  keysSetBy(request, start).forEach((keyId, i) => {
    const base = { id: `plan-${i}`, at: '', workflowId: 'plan' };
    applyLedgerEvent(state, keyId ? { ...base, kind: 'key-set', keyId } : { ...base, kind: 'kms-disabled' });
  });
  return state.slots;
}

export async function planProcedure(request: PlanRequest): Promise<Plan> {
  const definition = DEFINITIONS[request.procedure] as unknown as ProcedureDefinition<ProcedureInputBase>;
  const input = request.input;
  const run = new ProcedureRun(input.clusterId);
  const start = await quick.getClusterDigest(input.clusterId);
  const report = await runPreflight(definition.name, definition.preflightInput(input, run, start));
  const ledger = await quick.readKeyLedger(input.clusterId);
  const steps = definition.steps(run, input, start).map(({ id, title, gate, command }) => ({ id, title, gate, command }));
  let secretsInScope = report.secretCount;
  if (secretsInScope === undefined && report.ok) secretsInScope = await quick.countSecrets(input.clusterId);
  const secretsPerSecond = ledger.lastReencryption?.secretsPerSecond || DEFAULT_SECRETS_PER_SECOND;
  const reencryptions = steps.filter((s) => s.id.startsWith('reencrypt')).length;
  const armOperations = steps.filter((s) => /^(enable-kms|disable-kms|rotate|upgrade-)/.test(s.id)).length;
  return {
    procedure: request.procedure,
    clusterId: input.clusterId,
    cluster: report.cluster,
    ok: report.ok,
    findings: report.findings,
    steps,
    secretsInScope,
    estimatedSeconds: Math.round(armOperations * ARM_OPERATION_SECONDS + (reencryptions * 2 * (secretsInScope ?? 0)) / secretsPerSecond),
    secretsPerSecond,
    slots: { before: { ...ledger.slots, ...(ledger.slots.current ? {} : { current: start.kms.keyId }) }, after: slotsAfter(ledger, start, request) },
  };
}
