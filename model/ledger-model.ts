/**
 * The key ledger of one cluster: every key kmsflow set, which versions sit in AKS's two key slots, the
 * proof each re-encryption produced, and which versions became retirable. Pure functions over events, so
 * the entity workflow, the CLI and the tests share one definition of "still needed".
 */
import { sameKeyId } from './ids';

/**
 * Every event names the procedure run that recorded it. `id` is unique per procedure run, step, attempt and
 * kind (see `ProcedureRun.eventId`), so a retried activity records an event once, and a later procedure
 * under the cluster's same workflow id never collides with an earlier one.
 */
interface EventBase {
  id: string;
  at: string;
  workflowId: string;
  /** The procedure run (its first run id); absent in events recorded before runs were named. */
  runId?: string;
  /** The step attempt's operation key (`ProcedureRun.operationKey`); pairs a re-encryption's start and result. */
  operation?: string;
}

export type LedgerEvent =
  | (EventBase & { kind: 'key-set'; keyId: string })
  | (EventBase & { kind: 'kms-disabled' })
  /** A re-encryption began: until its result is recorded, the cluster has no proof under any key. */
  | (EventBase & { kind: 'reencryption-started'; keyId?: string })
  | (EventBase & {
      kind: 'reencrypted';
      /** The key every Secret was proven to be under; undefined for the identity (unencrypted) provider. */
      keyId?: string;
      proven: boolean;
      watermark: string;
      digest: string;
      objects: number;
      secretsPerSecond?: number;
    })
  | (EventBase & { kind: 'key-retired'; keyId: string; how: 'disable' | 'expire' })
  /** The operator went ahead where kmsflow could not verify (--assume-unused CLUSTER, --accept-unverified). */
  | (EventBase & { kind: 'safety-override'; overrides: string[] })
  /** How long an ARM operation kmsflow sent on the cluster took, from the PUT to its end: what plans estimate from. */
  | (EventBase & { kind: 'cluster-operation'; operationKind: OperationKind; seconds: number });

/** ARM operations by what they do to the cluster: a KMS update, or a Kubernetes version upgrade. */
export type OperationKind = 'kms' | 'upgrade';

export interface KeyRecord {
  keyId: string;
  firstSetAt: string;
  /** When the key stopped being the current write key. */
  replacedAt?: string;
  /** Every Secret was proven to be under this key. */
  provenAt?: string;
  /** A later proven re-encryption moved every Secret off this key. */
  migratedAwayAt?: string;
  retiredAt?: string;
  retiredHow?: 'disable' | 'expire';
}

export interface LedgerState {
  cluster: string;
  kmsEnabled: boolean;
  slots: { current?: string; previous?: string };
  keys: KeyRecord[];
  /** The last re-encryption: while it is not proven, a rotation first re-encrypts under the key in use. */
  lastReencryption?: {
    keyId?: string;
    /** `started`: it began and no result was recorded (cancelled, failed, or still running). */
    status?: 'started' | 'completed';
    proven: boolean;
    at: string;
    workflowId: string;
    runId?: string;
    watermark: string;
    digest: string;
    objects: number;
    secretsPerSecond?: number;
  };
  /** Every re-encryption of the last procedure runs, oldest first (bounded): what `list` and `keys` show per run. */
  reencryptions?: ReencryptionRecord[];
  /** Measured durations of the last ARM operations kmsflow sent, in seconds, by kind (bounded). */
  operationSeconds?: Partial<Record<OperationKind, number[]>>;
  /** What operators vouched for where kmsflow could not verify, newest last (bounded). */
  overrides?: { at: string; workflowId: string; runId?: string; overrides: string[] }[];
  eventIds: string[];
}

export interface ReencryptionRecord {
  operation: string;
  runId?: string;
  workflowId: string;
  keyId?: string;
  status: 'started' | 'completed';
  proven: boolean;
  at: string;
}

/** What a procedure run proved: every re-encryption proven, one not proven, one never finished, or none ran. */
export type RunProof = 'proven' | 'not-proven' | 'unfinished' | 'none';

export interface LedgerView extends LedgerState {
  /** Versions AKS may still need: in a slot, or not yet proven migrated away from. */
  stillNeeded: string[];
  /** Versions that may be disabled or expired now. */
  retirable: string[];
}

const MAX_EVENT_IDS = 500;
const MAX_REENCRYPTIONS = 300;
const MAX_OPERATION_TIMINGS = 10;
const MAX_OVERRIDES = 50;

export function emptyLedger(cluster: string): LedgerState {
  return { cluster, kmsEnabled: false, slots: {}, keys: [], eventIds: [] };
}

function record(state: LedgerState, keyId: string): KeyRecord | undefined {
  return state.keys.find((k) => sameKeyId(k.keyId, keyId));
}

/** Applies one event; events already applied (same id) are ignored, so recording is idempotent. */
export function applyLedgerEvent(state: LedgerState, event: LedgerEvent): LedgerState {
  if (state.eventIds.includes(event.id)) return state;
  state.eventIds.push(event.id);
  if (state.eventIds.length > MAX_EVENT_IDS) state.eventIds.splice(0, state.eventIds.length - MAX_EVENT_IDS);
  switch (event.kind) {
    case 'key-set': {
      const current = state.slots.current;
      if (current && !sameKeyId(current, event.keyId)) {
        state.slots.previous = current;
        const old = record(state, current);
        if (old && !old.replacedAt) old.replacedAt = event.at;
      }
      state.slots.current = event.keyId;
      state.kmsEnabled = true;
      const existing = record(state, event.keyId);
      if (!existing) state.keys.push({ keyId: event.keyId, firstSetAt: event.at });
      else if (existing.replacedAt) {
        // Set again (e.g. enabled again after a disable): it is in use once more.
        delete existing.replacedAt;
        delete existing.migratedAwayAt;
      }
      break;
    }
    case 'kms-disabled': {
      state.kmsEnabled = false;
      const current = state.slots.current ? record(state, state.slots.current) : undefined;
      if (current && !current.replacedAt) current.replacedAt = event.at;
      break;
    }
    case 'reencryption-started': {
      trackReencryption(state, event, { status: 'started', proven: false });
      state.lastReencryption = {
        keyId: event.keyId,
        status: 'started',
        proven: false,
        at: event.at,
        workflowId: event.workflowId,
        runId: event.runId,
        watermark: '',
        digest: '',
        objects: 0,
      };
      break;
    }
    case 'reencrypted': {
      trackReencryption(state, event, { status: 'completed', proven: event.proven });
      state.lastReencryption = {
        keyId: event.keyId,
        status: 'completed',
        proven: event.proven,
        at: event.at,
        workflowId: event.workflowId,
        runId: event.runId,
        watermark: event.watermark,
        digest: event.digest,
        objects: event.objects,
        secretsPerSecond: event.secretsPerSecond,
      };
      if (!event.proven) break;
      for (const k of state.keys) {
        if (sameKeyId(k.keyId, event.keyId)) k.provenAt = event.at;
        else if (k.replacedAt && !k.migratedAwayAt) k.migratedAwayAt = event.at;
      }
      break;
    }
    case 'key-retired': {
      const k = record(state, event.keyId);
      if (k) {
        k.retiredAt = event.at;
        k.retiredHow = event.how;
      }
      break;
    }
    case 'safety-override': {
      const list = (state.overrides ??= []);
      list.push({
        at: event.at,
        workflowId: event.workflowId,
        runId: event.runId,
        overrides: event.overrides,
      });
      if (list.length > MAX_OVERRIDES) list.splice(0, list.length - MAX_OVERRIDES);
      break;
    }
    case 'cluster-operation': {
      const timings = ((state.operationSeconds ??= {})[event.operationKind] ??= []);
      timings.push(event.seconds);
      if (timings.length > MAX_OPERATION_TIMINGS) timings.splice(0, timings.length - MAX_OPERATION_TIMINGS);
      break;
    }
  }
  return state;
}

function trackReencryption(
  state: LedgerState,
  event: LedgerEvent & { keyId?: string },
  outcome: Pick<ReencryptionRecord, 'status' | 'proven'>,
): void {
  const operation = event.operation ?? event.id;
  const list = (state.reencryptions ??= []);
  const existing = list.find((r) => r.operation === operation);
  if (existing) Object.assign(existing, outcome, { at: event.at });
  else
    list.push({
      operation,
      runId: event.runId,
      workflowId: event.workflowId,
      keyId: event.keyId,
      at: event.at,
      ...outcome,
    });
  if (list.length > MAX_REENCRYPTIONS) list.splice(0, list.length - MAX_REENCRYPTIONS);
}

/**
 * The proof of one procedure run: that of the last re-encryption it recorded. A procedure only moves past a
 * re-encryption once it is proven (a not-proven one blocks the step until a retry proves it), so the last
 * one speaks for the run.
 */
export function proofOfRun(state: LedgerState, runId: string): RunProof {
  const last = (state.reencryptions ?? []).filter((r) => r.runId === runId).at(-1);
  if (!last) return 'none';
  if (last.status === 'started') return 'unfinished';
  return last.proven ? 'proven' : 'not-proven';
}

export function inSlot(state: LedgerState, keyId: string): boolean {
  return [state.slots.current, state.slots.previous].some((s) => sameKeyId(s, keyId));
}

/** Why a version may not be retired now, or undefined when it may. */
export function retirementBlocker(state: LedgerState, keyId: string): string | undefined {
  const k = record(state, keyId);
  if (!k) return `kmsflow never set ${keyId} on this cluster, so it cannot prove no Secret needs it.`;
  if (k.retiredAt) return undefined;
  if (inSlot(state, keyId)) {
    return `${keyId} is still in AKS's ${sameKeyId(state.slots.current, keyId) ? 'current' : 'previous'} key slot; rotate (and re-encrypt) until it leaves both slots.`;
  }
  if (!k.migratedAwayAt) return `no proven re-encryption moved every Secret off ${keyId}.`;
  return undefined;
}

export function ledgerView(state: LedgerState): LedgerView {
  const live = state.keys.filter((k) => !k.retiredAt);
  return {
    ...state,
    stillNeeded: live.filter((k) => retirementBlocker(state, k.keyId) !== undefined).map((k) => k.keyId),
    retirable: live.filter((k) => retirementBlocker(state, k.keyId) === undefined).map((k) => k.keyId),
  };
}

/**
 * True when kmsflow holds no proof that every Secret is under the current key: a cluster whose history it
 * does not know, or whose last re-encryption was cancelled, failed or not proven. A rotation then first
 * re-encrypts under the current key, so nothing still depends on an older key that the rotation pushes out
 * of AKS's slots (the trap of rotating twice without re-encrypting).
 */
export function needsBaselineProof(state: LedgerState): boolean {
  const last = state.lastReencryption;
  if (!state.slots.current) return false;
  return !last || !last.proven || !sameKeyId(last.keyId, state.slots.current);
}

/** Why a rotation first re-encrypts under the key in use, in one sentence; undefined when it need not. */
export function baselineReason(state: LedgerState): string | undefined {
  if (!needsBaselineProof(state)) return undefined;
  const last = state.lastReencryption;
  if (!last) return 'kmsflow holds no proof for this cluster yet';
  const which = `the last re-encryption (${last.runId ? `run ${last.runId}` : last.workflowId})`;
  if (last.status === 'started') return `${which} never finished (cancelled or failed)`;
  if (!last.proven) return `${which} is not proven`;
  return 'the last proof is for another key than the one in use';
}
