/**
 * kmsflow's workflows plus the planted-leak control (see activities.ts), bundled together for the workers
 * of the Secret-scan tests.
 */
import { defineQuery, proxyActivities, setHandler, sleep } from '@temporalio/workflow';
import type { leakControlActivities } from './activities';
import { LEAK_CONTROL_QUERIES, QUERY_MASK } from './planted';

export * from '../../../workflows';

export const leakControlQuery = defineQuery<{ value: number[] }>(LEAK_CONTROL_QUERIES.leakControl);

const { plantLeaks } = proxyActivities<ReturnType<typeof leakControlActivities>>({
  startToCloseTimeout: '1 minute',
  heartbeatTimeout: '30 seconds',
});

/** Plants one value per channel, answers the query with the unmasked one, and stays open long enough to be polled. */
export async function leakControl(): Promise<unknown> {
  const planted = await plantLeaks();
  setHandler(leakControlQuery, () => ({ value: planted.masked.map((b) => b ^ QUERY_MASK) }));
  await sleep('4 seconds');
  return planted.result;
}
