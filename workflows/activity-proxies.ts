/**
 * The activity proxies every workflow uses, by kind of work. Retry policies live here, once: non-retryable
 * failures (validation, permission, precondition) stop at once and block the step; the rest back off.
 */
import type { RetryPolicy } from '@temporalio/common';
import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';

const backoff: RetryPolicy = {
  initialInterval: '1 second',
  backoffCoefficient: 2,
  maximumInterval: '1 minute',
};
const retry: RetryPolicy = { ...backoff, maximumAttempts: 10 };

/** Reads and quick writes: seconds each. */
export const quick = proxyActivities<Activities>({ startToCloseTimeout: '2 minutes', retry });

/** Waiting for ARM long-running operations: up to hours, heartbeating every poll. */
export const longRunning = proxyActivities<Activities>({
  startToCloseTimeout: '6 hours',
  heartbeatTimeout: '2 minutes',
  retry: backoff,
});

/** Pages of a re-encryption pass: heartbeats as Secrets are done, and a retry resumes from the last heartbeat. */
export const pages = proxyActivities<Activities>({
  startToCloseTimeout: '30 minutes',
  heartbeatTimeout: '1 minute',
  retry: backoff,
});

/** Awaiting another workflow's end (a campaign's procedure): as long as it takes, a day per attempt. */
export const awaiting = proxyActivities<Activities>({
  startToCloseTimeout: '1 day',
  heartbeatTimeout: '1 minute',
  retry: backoff,
});
