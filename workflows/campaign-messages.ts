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
  /** How often a waiting cluster (its window, or the procedure it is busy with) is looked at again (default 300 s). */
  recheckSeconds?: number;
  /** Set by the campaign itself when it continues as new. */
  carried?: CampaignProgress;
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
  | 'not-started';

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
}

export type CampaignPhase =
  'selecting' | 'running' | 'waiting-approval' | 'soaking' | 'paused' | 'halted' | 'completed' | 'cancelled';

export interface CampaignStageState {
  name: string;
  clusters: number;
  status: 'pending' | 'waiting-approval' | 'running' | 'soaking' | 'done' | 'not-started';
  approvedBy?: string;
  soakUntil?: string;
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
  budget: { maxFailures: number; failures: number; left: number };
  /** Why the campaign stopped starting clusters, when it did. */
  haltReason?: string;
  /** Clusters retried by the operator and not started again yet, by cluster id: the next lane to free takes them. */
  retried?: string[];
  startedAt: string;
  endedAt?: string;
}

/** Failed, blocked and not-proven clusters count against the error budget. */
export const FAILURE_STATUSES: readonly CampaignClusterStatus[] = ['failed', 'blocked', 'not-proven'];

export interface CampaignOperatorRequest {
  requestedBy?: string;
}

export const campaignProgressQuery = defineQuery<CampaignProgress>('campaignProgress');
export const approveStageUpdate = defineUpdate<
  { stage: string },
  [CampaignOperatorRequest & { stage?: string }]
>('approveStage');
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
}
