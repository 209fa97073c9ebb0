// The key ledger's model on its own: events of several procedure runs on one cluster, duplicates from
// retried activities, retried steps, cancelled re-encryptions. Event ids are made the way procedures make
// them (operation key of the step attempt + kind), so this is the identity scheme's contract too.
import { describe, expect, it } from 'vitest';
import {
  applyLedgerEvent,
  baselineReason,
  emptyLedger,
  type LedgerEvent,
  type LedgerState,
  ledgerView,
  needsBaselineProof,
  proofOfRun,
  retirementBlocker,
} from '../../model/ledger-model';

const K1 = 'https://kv.vault.azure.net/keys/k/1';
const K2 = 'https://kv.vault.azure.net/keys/k/2';
const K3 = 'https://kv.vault.azure.net/keys/k/3';
const WORKFLOW =
  'kmsflow:/subscriptions/s/resourcegroups/g/providers/microsoft.containerservice/managedclusters/c';

type EventBody = LedgerEvent extends infer E
  ? E extends LedgerEvent
    ? Omit<E, 'id' | 'at' | 'workflowId' | 'runId' | 'operation'>
    : never
  : never;

let clock = 0;
/** An event as `ProcedureRun.record` builds it for run `runId`, step `step`, attempt `attempt`. */
function event(runId: string, step: string, attempt: number, body: EventBody): LedgerEvent {
  const operation = `kmsflow/${runId}/${step}/${attempt}`;
  clock += 1;
  return {
    ...body,
    id: `${operation}/${body.kind}`,
    operation,
    at: new Date(Date.UTC(2026, 0, 1, 0, clock)).toISOString(),
    workflowId: WORKFLOW,
    runId,
  } as LedgerEvent;
}

function apply(state: LedgerState, ...events: LedgerEvent[]): LedgerState {
  for (const e of events) applyLedgerEvent(state, e);
  return state;
}

/** enable(K1) as run `run`: key set, re-encryption started, proven. */
function enable(state: LedgerState, run: string, key: string, proven = true): LedgerState {
  return apply(
    state,
    event(run, 'enable-kms', 1, { kind: 'key-set', keyId: key }),
    event(run, 'reencrypt', 1, { kind: 'reencryption-started', keyId: key }),
    event(run, 'reencrypt', 1, {
      kind: 'reencrypted',
      keyId: key,
      proven,
      watermark: '10',
      digest: 'd',
      objects: 5,
    }),
  );
}

/** A rotation: the same step ids as every other rotation on the cluster, only the run differs. */
function rotate(
  state: LedgerState,
  run: string,
  key: string,
  outcome: 'proven' | 'not-proven' | 'cancelled' = 'proven',
): LedgerState {
  apply(
    state,
    event(run, 'rotate', 1, { kind: 'key-set', keyId: key }),
    event(run, 'reencrypt', 1, { kind: 'reencryption-started', keyId: key }),
  );
  if (outcome === 'cancelled') return state;
  return apply(
    state,
    event(run, 'reencrypt', 1, {
      kind: 'reencrypted',
      keyId: key,
      proven: outcome === 'proven',
      watermark: '20',
      digest: 'd',
      objects: 5,
    }),
  );
}

describe('key ledger model', () => {
  it('ignores a duplicate event (a retried recordLedgerEvent activity)', () => {
    const state = emptyLedger('c');
    const started = event('run-a', 'reencrypt', 1, { kind: 'reencryption-started', keyId: K1 });
    apply(state, event('run-a', 'enable-kms', 1, { kind: 'key-set', keyId: K1 }), started);
    const proven = event('run-a', 'reencrypt', 1, {
      kind: 'reencrypted',
      keyId: K1,
      proven: true,
      watermark: '10',
      digest: 'd',
      objects: 5,
    });
    apply(state, proven);
    const before = JSON.stringify(state);
    // The same start event arriving again after the result must not turn the proof back into "started".
    apply(state, started, proven);
    expect(JSON.stringify(state)).toBe(before);
    expect(state.lastReencryption).toMatchObject({ status: 'completed', proven: true });
  });

  it('keeps every procedure run apart although they share the workflow id and step ids', () => {
    const state = enable(emptyLedger('c'), 'run-a', K1);
    rotate(state, 'run-b', K2);
    rotate(state, 'run-c', K3);
    const view = ledgerView(state);
    expect(view.slots).toEqual({ current: K3, previous: K2 });
    expect(view.retirable).toEqual([K1]);
    expect(view.stillNeeded).toEqual([K2, K3]);
    expect(['run-a', 'run-b', 'run-c'].map((r) => proofOfRun(state, r))).toEqual([
      'proven',
      'proven',
      'proven',
    ]);
    expect(needsBaselineProof(state)).toBe(false);
  });

  it('a cancelled re-encryption leaves no proof, and the next rotation must first re-encrypt', () => {
    const state = enable(emptyLedger('c'), 'run-a', K1);
    rotate(state, 'run-b', K2, 'cancelled');
    expect(state.lastReencryption).toMatchObject({
      status: 'started',
      proven: false,
      runId: 'run-b',
      keyId: K2,
    });
    expect(proofOfRun(state, 'run-b')).toBe('unfinished');
    expect(baselineReason(state)).toMatch(/run-b\) never finished/);
    // K1 is still needed: nothing proved every Secret left it.
    expect(retirementBlocker(state, K1)).toBeDefined();
    expect(ledgerView(state).retirable).toEqual([]);
  });

  it('a retried step records its new attempt, and its proof counts', () => {
    const state = enable(emptyLedger('c'), 'run-a', K1);
    apply(state, event('run-b', 'rotate', 1, { kind: 'key-set', keyId: K2 }));
    apply(state, event('run-b', 'reencrypt', 1, { kind: 'reencryption-started', keyId: K2 }));
    apply(
      state,
      event('run-b', 'reencrypt', 1, {
        kind: 'reencrypted',
        keyId: K2,
        proven: false,
        watermark: '20',
        digest: 'd',
        objects: 5,
      }),
    );
    expect(proofOfRun(state, 'run-b')).toBe('not-proven');
    expect(baselineReason(state)).toMatch(/not proven/);
    // `kmsflow retry`: attempt 2 of the same step, a new identity; its proof is recorded, not dropped.
    apply(state, event('run-b', 'reencrypt', 2, { kind: 'reencryption-started', keyId: K2 }));
    apply(
      state,
      event('run-b', 'reencrypt', 2, {
        kind: 'reencrypted',
        keyId: K2,
        proven: true,
        watermark: '30',
        digest: 'd',
        objects: 5,
      }),
    );
    expect(state.lastReencryption).toMatchObject({ proven: true, watermark: '30' });
    expect(needsBaselineProof(state)).toBe(false);
    expect(proofOfRun(state, 'run-b')).toBe('proven');
    // K1 left the Secrets but not AKS's previous slot: still needed until the next rotation.
    expect(state.keys.find((k) => k.keyId === K1)?.migratedAwayAt).toBeDefined();
    expect(ledgerView(state).retirable).toEqual([]);
  });

  it('a later procedure with the same step ids is recorded, not dropped as a duplicate', () => {
    const state = enable(emptyLedger('c'), 'run-a', K1);
    apply(state, event('run-b', 'disable-kms', 1, { kind: 'kms-disabled' }));
    apply(
      state,
      event('run-b', 'reencrypt', 1, {
        kind: 'reencrypted',
        proven: true,
        watermark: '40',
        digest: 'd',
        objects: 5,
      }),
    );
    // enable again: the same step ids as run-a's enable.
    enable(state, 'run-c', K1);
    expect(state.kmsEnabled).toBe(true);
    expect(state.lastReencryption).toMatchObject({ keyId: K1, proven: true, runId: 'run-c' });
    expect(state.keys.find((k) => k.keyId === K1)).not.toHaveProperty('replacedAt');
    expect(proofOfRun(state, 'run-c')).toBe('proven');
  });

  it('names no run for a run it never heard of, and asks for a baseline on an unknown cluster', () => {
    const state = emptyLedger('c');
    expect(proofOfRun(state, 'nobody')).toBe('none');
    apply(state, event('run-a', 'preflight', 1, { kind: 'key-set', keyId: K1 }));
    expect(baselineReason(state)).toMatch(/no proof/);
  });
});
