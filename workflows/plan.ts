/**
 * `planProcedure`: preflight plus the current state, and the ordered steps a procedure would run with the
 * equivalent az / kubectl command of each, the Secrets in scope, an estimated duration and how AKS's key
 * slots change. It only reads: a plan never changes Azure or the cluster.
 */
import type { ClusterDigest } from '../model/cluster-model';
import type { Finding } from '../model/preflight';
import { quick } from './activity-proxies';
import type { OperationTimings } from '../activities/ledger';
import {
  applyLedgerEvent,
  baselineReason,
  type LedgerState,
  type LedgerView,
  type OperationKind,
} from '../model/ledger-model';
import { DEFAULT_REENCRYPT_SETTINGS } from './reencrypt';
import type { StepDefinition, StepEffect } from './engine/procedure';
import { ProcedureRun, runPreflight } from './procedure-steps';
import { procedureNamed, type ProcedureRequestOf } from './procedures';
import { preflightInputOf, type ProcedureInputBase, stepsOf } from './procedures/common';
import { followCurrentVersion } from './versioning-behavior';

export type PlanRequest = ProcedureRequestOf;

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
  /** The sum of `estimate`'s parts. */
  estimatedSeconds: number;
  secretsPerSecond: number;
  estimate: DurationEstimate;
  slots: { before: LedgerState['slots']; after: LedgerState['slots'] };
}

/**
 * What a plan's duration is made of, and where each figure comes from: ARM operations at the pace measured on
 * this cluster (or its subscription, or AKS's typical pace when kmsflow measured none), the configured
 * propagation waits, and the re-encryptions at this cluster's last measured rate (or the default).
 */
export interface DurationEstimate {
  armOperations: Record<OperationKind, number>;
  armSecondsEach: Record<OperationKind, number>;
  armBasis: 'cluster' | 'subscription' | 'default';
  armSeconds: number;
  propagationWaits: number;
  propagationWaitSeconds: number;
  waitSeconds: number;
  reencryptions: number;
  rateBasis: 'measured' | 'default';
  reencryptSeconds: number;
}

// Until a cluster has its own proof: below what the re-encryption benchmark measures against a real
// kube-apiserver with a remote round trip, so a first plan errs long rather than short.
const DEFAULT_SECRETS_PER_SECOND = 200;
/** AKS's typical pace when kmsflow has measured none: a KMS update, and one upgrade hop (control plane and nodes). */
const TYPICAL_OPERATION_SECONDS: Record<OperationKind, number> = { kms: 5 * 60, upgrade: 15 * 60 };

function median(values: number[]): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Secrets per second a re-encryption is planned at: the last one's, else a default; a write cap asked for bounds it. */
function plannedRate(measuredRate: number | undefined, maxQps: number): number {
  const rate = measuredRate || DEFAULT_SECRETS_PER_SECOND;
  return maxQps > 0 ? Math.min(rate, maxQps) : rate;
}

function estimateDuration(
  effects: StepEffect[],
  timings: OperationTimings,
  secrets: number,
  measuredRate: number | undefined,
  propagationWaitMs: number,
  maxQps: number,
): DurationEstimate {
  const armOperations = {
    kms: effects.filter((e) => e.clusterOperation === 'kms').length,
    upgrade: effects.filter((e) => e.clusterOperation === 'upgrade').length,
  };
  const any = median([...(timings.kms ?? []), ...(timings.upgrade ?? [])]);
  const each = (kind: OperationKind) => median(timings[kind] ?? []) ?? any ?? TYPICAL_OPERATION_SECONDS[kind];
  const armSecondsEach = { kms: each('kms'), upgrade: each('upgrade') };
  // Every re-encryption after a key change waits for the key to propagate; the baseline one changes no key.
  const reencryptions = effects.filter((e) => e.reencrypts !== undefined).length;
  const propagationWaits = effects.filter((e) => e.reencrypts === 'after-change').length;
  const rate = plannedRate(measuredRate, maxQps);
  return {
    armOperations,
    armSecondsEach,
    armBasis: timings.measuredOn === 'none' ? ('default' as const) : timings.measuredOn,
    armSeconds: armOperations.kms * armSecondsEach.kms + armOperations.upgrade * armSecondsEach.upgrade,
    propagationWaits,
    propagationWaitSeconds: propagationWaitMs / 1000,
    waitSeconds: (propagationWaits * propagationWaitMs) / 1000,
    reencryptions,
    rateBasis: measuredRate ? ('measured' as const) : ('default' as const),
    reencryptSeconds: (reencryptions * secrets) / rate,
  };
}

/** AKS's key slots after the steps' key changes, in order. */
function slotsAfter(ledger: LedgerView, start: ClusterDigest, effects: StepEffect[]): LedgerState['slots'] {
  const state: LedgerState = JSON.parse(JSON.stringify(ledger));
  if (!state.slots.current && start.kms.keyId) state.slots.current = start.kms.keyId;
  effects.forEach(({ keySlot }, i) => {
    if (!keySlot) return;
    const base = { id: `plan-${i}`, at: '', workflowId: 'plan' };
    applyLedgerEvent(
      state,
      keySlot === 'kms-off'
        ? { ...base, kind: 'kms-disabled' }
        : { ...base, kind: 'key-set', keyId: keySlot.set },
    );
  });
  return state.slots;
}

const effectOf = (step: StepDefinition): StepEffect => step.effect ?? {};

export async function planProcedure(request: PlanRequest): Promise<Plan> {
  const procedure = procedureNamed(request.procedure);
  if (!procedure) throw new Error(`no procedure named ${request.procedure}`);
  const { definition } = procedure;
  const input: ProcedureInputBase = request.input;
  const run = new ProcedureRun(input.clusterId);
  const start = await quick.getClusterDigest(input.clusterId);
  const report = await runPreflight(definition, preflightInputOf(definition, input, run, start));
  const ledger = await quick.readKeyLedger(input.clusterId);
  const definitions = stepsOf(definition, run, input, start);
  const steps: PlanStep[] = definitions.map(({ id, title, gate, command }) => ({ id, title, gate, command }));
  let secretsInScope = report.secretCount;
  if (secretsInScope === undefined && report.ok) secretsInScope = await quick.countSecrets(input.clusterId);
  const measuredRate =
    ledger.lastReencryption?.status !== 'started' ? ledger.lastReencryption?.secretsPerSecond : undefined;
  const propagationWaitMs =
    input.reencrypt?.propagationWaitMs ?? DEFAULT_REENCRYPT_SETTINGS.propagationWaitMs;
  // The baseline re-encryption runs only when kmsflow holds no proof under the key in use (which the
  // procedure's preflight teaches the ledger, as here).
  const inUse =
    start.kms.enabled && start.kms.keyId && !ledger.slots.current
      ? { ...ledger, slots: { ...ledger.slots, current: start.kms.keyId } }
      : ledger;
  const willRun = definitions
    .map(effectOf)
    .filter((e) => e.reencrypts !== 'baseline' || baselineReason(inUse) !== undefined);
  const maxQps = input.reencrypt?.maxQps ?? DEFAULT_REENCRYPT_SETTINGS.maxQps;
  const estimate = estimateDuration(
    willRun,
    await quick.armOperationTimings(input.clusterId),
    secretsInScope ?? 0,
    measuredRate,
    propagationWaitMs,
    maxQps,
  );
  return {
    procedure: request.procedure,
    clusterId: input.clusterId,
    cluster: report.cluster,
    ok: report.ok,
    findings: report.findings,
    steps,
    secretsInScope,
    estimatedSeconds: Math.round(estimate.armSeconds + estimate.waitSeconds + estimate.reencryptSeconds),
    secretsPerSecond: plannedRate(measuredRate, maxQps),
    estimate,
    slots: {
      before: { ...ledger.slots, ...(ledger.slots.current ? {} : { current: start.kms.keyId }) },
      after: slotsAfter(ledger, start, definitions.map(effectOf)),
    },
  };
}

// Read-only and over in seconds: it runs on the current version, like a fresh start.
followCurrentVersion(planProcedure);
