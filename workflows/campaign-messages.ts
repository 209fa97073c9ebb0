/**
 * The contract between a campaign and its operators: its progress, and the updates and signals that steer
 * it (approve a stage, pause, resume, skip or retry one cluster, cancel). Shared by the workflow and the CLI.
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { CampaignProcedure, CampaignStage, ClusterSelection, ErrorBudget } from '../model/campaign';
import type { CheckedFlags } from '../model/procedure-flags';
import type { ProcedureInputBase } from './procedures/common';

export const CAMPAIGN_WORKFLOW_PREFIX = 'kmsflow-campaign:';
export const campaignWorkflowId = (campaignId: string) => `${CAMPAIGN_WORKFLOW_PREFIX}${campaignId}`;

export interface CampaignInput {
  /** Absent in a schedule's campaigns: each run takes its workflow id's (the schedule's id and the run's time). */
  campaignId?: string;
  procedure: CampaignProcedure;
  selection: ClusterSelection;
  stages: CampaignStage[];
  errorBudget: ErrorBudget;
  /** Stage gates approved at start: stage names, or 'all'. */
  autoApprove?: string[] | 'all';
  /** The procedure's flags for every cluster (`--key-id`, `--mode`, …), checked by the CLI. */
  flags?: CheckedFlags;
  /** Flags per cluster (by lower-case resource id or name), over `flags`: the mapping file. */
  clusterFlags?: Record<string, CheckedFlags>;
  /** Passed to every cluster's procedure (its own gates, re-encryption settings). */
  procedureOptions?: Pick<ProcedureInputBase, 'autoApprove' | 'reencrypt' | 'estate'>;
  requestedBy?: string;
  /** AKS maintenance windows (default honour): a cluster outside its window waits, and the campaign says until when. */
  maintenanceWindows?: 'honour' | 'ignore';
  /** A cluster busy with another procedure: skipped with the reason (default), or waited for. */
  busyClusters?: 'skip' | 'wait';
  /** Check each proven cluster's health after its stage's soak, before the next stage (default true). */
  healthChecks?: boolean;
  /** How often a busy cluster (another procedure, an ARM operation, stopped) is looked at again (default 300 s). */
  recheckSeconds?: number;
  /** Set by the campaign itself when it continues as new: its state, compact (`campaign-state.ts`). */
  carried?: CarriedCampaign;
}

/**
 * What one campaign run hands the next: the progress without its cluster list, and the clusters as rows over
 * shared tables (their resource-id prefixes, reasons and keys), so that thousands fit well under Temporal's
 * payload limit. Written and read by `workflows/campaign-state.ts` only.
 */
export interface CarriedCampaign {
  format: 'rows-1';
  progress: Omit<CampaignProgress, 'clusters'>;
  prefixes: string[];
  reasons: string[];
  keys: string[];
  /** One row per cluster: see `campaign-state.ts`. */
  rows: string[];
  /** Clusters that spent the error budget (row indexes): a retry does not give the unit back. */
  counted: number[];
}

export type CampaignClusterStatus =
  | 'pending'
  | 'waiting-window'
  | 'waiting-busy'
  | 'running'
  | 'waiting-approval'
  | 'blocked'
  | 'proven'
  | 'not-proven'
  | 'failed'
  | 'cancelled'
  | 'skipped'
  | 'not-started'
  /** Proven, then failed its health check after its stage's soak. */
  | 'unhealthy';

/** Clusters that still wait for their turn: a pause, a cancel or a spent budget leaves them not-started. */
export const WAITING_STATUSES: readonly CampaignClusterStatus[] = [
  'pending',
  'waiting-window',
  'waiting-busy',
];

/** Waiting clusters that sleep until their `waitUntil` (or an operator's recheck). */
export const isSleeping = (c: { status: CampaignClusterStatus }) =>
  c.status === 'waiting-window' || c.status === 'waiting-busy';

export interface CampaignClusterState {
  clusterId: string;
  name: string;
  /** Null for a cluster skipped before stages were formed. */
  stage: string | null;
  status: CampaignClusterStatus;
  /** Why it was skipped, failed, blocked or not proven: one sentence. */
  reason?: string;
  /** The procedure's run on the cluster's workflow id (`kmsflow status <cluster> --run <id>`). */
  runId?: string;
  /** The key the procedure put into AKS's current slot (rotate: the new version). */
  keyId?: string;
  startedAt?: string;
  endedAt?: string;
  /** A waiting cluster is looked at again then (its window opens, or the busy recheck). */
  waitUntil?: string;
}

export type CampaignPhase =
  'selecting' | 'running' | 'waiting-approval' | 'soaking' | 'paused' | 'halted' | 'completed' | 'cancelled';

export interface CampaignStageState {
  name: string;
  clusters: number;
  status:
    'pending' | 'waiting-approval' | 'running' | 'soaking' | 'checking' | 'done' | 'skipped' | 'not-started';
  /** Which gate a stage in `waiting-approval` waits at: before its clusters start, or after its soak. */
  gate?: 'before' | 'after';
  approvedBy?: string;
  /** Who approved the gate after the stage, when it has one. */
  approvedAfterBy?: string;
  /** Who skipped the stage or its soak, and why. */
  skippedBy?: string;
  soakUntil?: string;
  /** Failures among the stage's clusters, when the stage has its own budget (`max-failures=` in its spec). */
  failures?: number;
  /** Its proven clusters health-checked so far, in order (the health check after the soak). */
  checked?: number;
}

export interface CampaignProgress {
  campaignId: string;
  procedure: CampaignProcedure;
  phase: CampaignPhase;
  paused: boolean;
  /** The stage running, waiting or soaking now. */
  stage: string | null;
  stages: CampaignStageState[];
  clusters: CampaignClusterState[];
  /**
   * The error budget: `maxFailures` is the allowance (a percentage resolved against the clusters selected),
   * `failures` every cluster that ever failed, was blocked or was not proven (a retry gives no unit back).
   */
  budget: { maxFailures: number; failures: number; left: number };
  /** Why the campaign stopped starting clusters, when it did. */
  haltReason?: string;
  /** `kmsflow campaign cancel`: kept across runs, so nothing starts after it whatever run comes next. */
  cancel?: { requestedBy: string; reason: string; at: string };
  /** Clusters retried by the operator and not started again yet, by cluster id: the next lane to free takes them. */
  retried?: string[];
  startedAt: string;
  endedAt?: string;
}

/** Failed, blocked and not-proven clusters count against the error budget, once each. */
export const FAILURE_STATUSES: readonly CampaignClusterStatus[] = [
  'failed',
  'blocked',
  'not-proven',
  'unhealthy',
];

export interface CampaignOperatorRequest {
  requestedBy?: string;
}

export const campaignProgressQuery = defineQuery<CampaignProgress>('campaignProgress');
/** Approves the gate the named stage waits at (before it, or after its soak). The stage is required. */
export const approveStageUpdate = defineUpdate<
  { stage: string; gate: 'before' | 'after' },
  [CampaignOperatorRequest & { stage: string }]
>('approveStage');
/** Skips a stage that has not started: its clusters are skipped with the reason. */
export const skipStageUpdate = defineUpdate<
  { stage: string; clusters: number },
  [CampaignOperatorRequest & { stage: string; reason: string }]
>('skipStage');
/** Ends the running soak now. */
export const skipSoakUpdate = defineUpdate<{ stage: string }, [CampaignOperatorRequest]>('skipSoak');
/** Looks at waiting clusters again now (e.g. after a maintenance window changed): one, or all. */
export const recheckWaitingUpdate = defineUpdate<
  { clusters: number },
  [CampaignOperatorRequest & { cluster?: string }]
>('recheckWaiting');
export const skipClusterUpdate = defineUpdate<
  { clusterId: string },
  [CampaignOperatorRequest & { cluster: string }]
>('skipCluster');
export const retryClusterUpdate = defineUpdate<
  { clusterId: string },
  [CampaignOperatorRequest & { cluster: string }]
>('retryCluster');
export const cancelCampaignUpdate = defineUpdate<
  { cancelled: boolean },
  [CampaignOperatorRequest & { reason: string }]
>('cancelCampaign');
export const pauseCampaignSignal = defineSignal<[CampaignOperatorRequest]>('pauseCampaign');
export const resumeCampaignSignal = defineSignal<[CampaignOperatorRequest]>('resumeCampaign');

/** The expiry guard (expiry-guard.ts), which a schedule runs. */
export const EXPIRY_GUARD_WORKFLOW_PREFIX = 'kmsflow-expiry-guard:';

export interface ExpiryGuardInput {
  selection: ClusterSelection;
  /** A key expiring within this many days counts. */
  withinDays: number;
  /** The rotate campaign it starts: stages, budget and options (its clusters are the expiring ones). */
  campaign: Omit<CampaignInput, 'campaignId' | 'procedure' | 'selection' | 'carried'>;
}

export interface ExpiringKey {
  clusterId: string;
  slot: 'current' | 'previous';
  keyId: string;
  expiresOn: string;
}

/** A key in a slot the guard could not judge healthy: unreadable, disabled, or a slot kmsflow cannot see. */
export interface UncheckedSlot {
  clusterId: string;
  slot: 'current' | 'previous';
  /** Absent when the slot itself is unknown. */
  keyId?: string;
  /** Why, in one sentence: never counted as healthy. */
  reason: string;
}

export interface ExpiryGuardResult {
  checked: number;
  expiring: ExpiringKey[];
  /** Slots the guard could not verify (cannot read the key, key disabled, previous slot unknown). */
  unchecked?: UncheckedSlot[];
  /** The campaign started for them, when any expire. */
  campaignId: string | null;
  /** How that campaign ended: the guard waits for it, so that a schedule never stacks two. */
  campaignPhase?: CampaignPhase;
}
