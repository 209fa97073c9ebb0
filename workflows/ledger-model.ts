/**
 * The key ledger of one cluster: every key kmsflow set, which versions sit in AKS's two key slots, the
 * proof each re-encryption produced, and which versions became retirable. Pure functions over events, so
 * the entity workflow, the CLI and the tests share one definition of "still needed".
 */

export type LedgerEvent =
  | { id: string; at: string; workflowId: string; kind: 'key-set'; keyId: string }
  | { id: string; at: string; workflowId: string; kind: 'kms-disabled' }
  | {
      id: string;
      at: string;
      workflowId: string;
      kind: 'reencrypted';
      /** The key every Secret was proven to be under; undefined for the identity (unencrypted) provider. */
      keyId?: string;
      proven: boolean;
      watermark: string;
      digest: string;
      objects: number;
      secretsPerSecond?: number;
    }
  | { id: string; at: string; workflowId: string; kind: 'key-retired'; keyId: string; how: 'disable' | 'expire' };

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
  /** The last re-encryption: a rotation must not start while it is not proven. */
  lastReencryption?: {
    keyId?: string;
    proven: boolean;
    at: string;
    workflowId: string;
    watermark: string;
    digest: string;
    objects: number;
    secretsPerSecond?: number;
  };
  eventIds: string[];
}

export interface LedgerView extends LedgerState {
  /** Versions AKS may still need: in a slot, or not yet proven migrated away from. */
  stillNeeded: string[];
  /** Versions that may be disabled or expired now. */
  retirable: string[];
}

const MAX_EVENT_IDS = 500;

export function emptyLedger(cluster: string): LedgerState {
  return { cluster, kmsEnabled: false, slots: {}, keys: [], eventIds: [] };
}

const norm = (k: string) => k.trim().replace(/\/+$/, '').toLowerCase();

function record(state: LedgerState, keyId: string): KeyRecord | undefined {
  return state.keys.find((k) => norm(k.keyId) === norm(keyId));
}

/** Applies one event; events already applied (same id) are ignored, so recording is idempotent. */
export function applyLedgerEvent(state: LedgerState, event: LedgerEvent): LedgerState {
  if (state.eventIds.includes(event.id)) return state;
  state.eventIds.push(event.id);
  if (state.eventIds.length > MAX_EVENT_IDS) state.eventIds.splice(0, state.eventIds.length - MAX_EVENT_IDS);
  switch (event.kind) {
    case 'key-set': {
      const current = state.slots.current;
      if (current && norm(current) !== norm(event.keyId)) {
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
    case 'reencrypted': {
      state.lastReencryption = {
        keyId: event.keyId,
        proven: event.proven,
        at: event.at,
        workflowId: event.workflowId,
        watermark: event.watermark,
        digest: event.digest,
        objects: event.objects,
        secretsPerSecond: event.secretsPerSecond,
      };
      if (!event.proven) break;
      for (const k of state.keys) {
        if (event.keyId && norm(k.keyId) === norm(event.keyId)) k.provenAt = event.at;
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
  }
  return state;
}

export function inSlot(state: LedgerState, keyId: string): boolean {
  return [state.slots.current, state.slots.previous].some((s) => s !== undefined && norm(s) === norm(keyId));
}

/** Why a version may not be retired now, or undefined when it may. */
export function retirementBlocker(state: LedgerState, keyId: string): string | undefined {
  const k = record(state, keyId);
  if (!k) return `kmsflow never set ${keyId} on this cluster, so it cannot prove no Secret needs it.`;
  if (k.retiredAt) return undefined;
  if (inSlot(state, keyId)) {
    return `${keyId} is still in AKS's ${norm(state.slots.current ?? '') === norm(keyId) ? 'current' : 'previous'} key slot; rotate (and re-encrypt) until it leaves both slots.`;
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

/** Why a rotation may not start now (the trap of rotating twice without re-encrypting), or undefined. */
export function rotationBlocker(state: LedgerState): string | undefined {
  const last = state.lastReencryption;
  if (last && !last.proven) {
    return `the last re-encryption (${last.workflowId}) is not proven; a second rotation now could make Secrets unreadable.`;
  }
  return undefined;
}

/**
 * True when kmsflow holds no proof that every Secret is under the current key (a cluster whose history it
 * does not know): a rotation then first re-encrypts under the current key, so nothing still depends on an
 * older key that the rotation pushes out of AKS's slots.
 */
export function needsBaselineProof(state: LedgerState): boolean {
  const last = state.lastReencryption;
  if (!state.slots.current) return false;
  return !last || !last.proven || !last.keyId || norm(last.keyId) !== norm(state.slots.current);
}
