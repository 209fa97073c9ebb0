/** The key ledger entity workflow: one per cluster, long-lived, continues as new to keep history small. */
import {
  allHandlersFinished,
  condition,
  continueAsNew,
  defineQuery,
  defineUpdate,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import {
  applyLedgerEvent,
  emptyLedger,
  type LedgerEvent,
  type LedgerState,
  type LedgerView,
  ledgerView,
} from '../model/ledger-model';
import { followCurrentVersion } from './versioning-behavior';

export const recordLedgerEventUpdate = defineUpdate<LedgerView, [LedgerEvent]>('recordLedgerEvent');
export const ledgerQuery = defineQuery<LedgerView>('ledger');

const EVENTS_PER_RUN = 200;

export async function keyLedger(input: { clusterId: string; state?: LedgerState }): Promise<void> {
  const state = input.state ?? emptyLedger(input.clusterId);
  let eventsThisRun = 0;
  setHandler(ledgerQuery, () => ledgerView(state));
  setHandler(
    recordLedgerEventUpdate,
    (event) => {
      eventsThisRun += 1;
      applyLedgerEvent(state, event);
      return ledgerView(state);
    },
    {
      validator: (event) => {
        if (!event?.id || !event.kind || !event.at) throw new Error('a ledger event needs id, kind and at.');
      },
    },
  );
  await condition(() => eventsThisRun >= EVENTS_PER_RUN || workflowInfo().continueAsNewSuggested);
  await condition(allHandlersFinished);
  await continueAsNew<typeof keyLedger>({ clusterId: input.clusterId, state });
}

// Replay-safe (changes go behind patches) and never finished: it follows the deployment's current version.
followCurrentVersion(keyLedger);
