/**
 * Campaigns: one procedure across many clusters, in stages. The pure rules every layer shares: which
 * clusters a selection names, how a stage is written on the command line, how clusters fall into stages,
 * and when the error budget is spent.
 */
import { isTerminal } from './cluster-model';

/**
 * A procedure's name (`rotate-key`): a campaign runs any of them. rotate and retire need nothing per cluster
 * (a new version of the key each cluster uses); the others take their flags per cluster or one set for all.
 */
export type CampaignProcedure = string;

/** The procedures that derive their key from the cluster when no key is given. */
export const KEY_FROM_CLUSTER: readonly CampaignProcedure[] = ['rotate-key', 'retire-key'];

/** How often a waiting cluster (outside its maintenance window, or busy) is looked at again. */
export const DEFAULT_RECHECK_SECONDS = 300;

export interface ClusterSelection {
  /** Subscriptions to list clusters in (at least one unless `clusterIds` is given). */
  subscriptions: string[];
  resourceGroup?: string;
  /** Every tag must match (`env=prod`). */
  tags?: Record<string, string>;
  /** Exactly these clusters (resource ids); combined with the filters above when both are given. */
  clusterIds?: string[];
  /** An Azure Kubernetes Fleet Manager fleet's resource id: only its member clusters. */
  fleet?: string;
}

const FLEET_ID =
  /^\/subscriptions\/([^/]+)\/resourceGroups\/([^/]+)\/providers\/Microsoft\.ContainerService\/fleets\/([^/]+)\/?$/i;

export function parseFleetId(id: string): { subscriptionId: string; resourceGroup: string; name: string } {
  const m = FLEET_ID.exec(id.trim());
  if (!m)
    throw new CampaignInputError(
      `${id} is not a fleet resource id: /subscriptions/<id>/resourceGroups/<rg>/providers/Microsoft.ContainerService/fleets/<name> (az fleet show -g RG -n NAME --query id -o tsv).`,
    );
  return { subscriptionId: m[1]!, resourceGroup: m[2]!, name: m[3]! };
}

/** A cluster as the selection found it: what a campaign needs to decide whether and how it applies. */
export interface SelectedCluster {
  clusterId: string;
  name: string;
  resourceGroup: string;
  tags: Record<string, string>;
  kmsEnabled: boolean;
  keyId?: string;
  provisioningState: string;
  /** Its update group in the Fleet Manager fleet selected by `fleet`, when it has one. */
  fleetGroup?: string;
}

export interface CampaignStage {
  name: string;
  /** The clusters of these Fleet Manager update groups (comma-separated; selected with --fleet), in parallel. */
  group?: string;
  /** How many clusters: a count, a share of the campaign's clusters, or the rest. */
  size: number | { percent: number } | 'rest';
  /** How many of the stage's clusters run at once: a count or a share of the stage. */
  maxConcurrency: number | { percent: number };
  /** Wait after the stage's last cluster, before the next stage. */
  soakSeconds: number;
  /** The operator approves before the stage starts. */
  approval: boolean;
  /** The operator approves after the stage's soak, before the next stage. */
  approvalAfter?: boolean;
  /** The stage's own error budget, on top of the campaign's. */
  maxFailures?: ErrorBudget;
}

export class CampaignInputError extends Error {
  override name = 'CampaignInputError';
}

/**
 * A stage as written on the command line: `NAME [size=N|N%|rest] [concurrency=N|N%] [soak=30s|10m|2h] [approval]`,
 * e.g. `canary size=1 soak=10m`, `wave size=50% concurrency=5 approval`, `rest concurrency=10%`.
 */
export function parseStage(spec: string): CampaignStage {
  const [name, ...options] = spec.trim().split(/\s+/);
  if (!name || name.includes('='))
    throw new CampaignInputError(
      `Stage "${spec}" has no name: start it with one, e.g. "canary size=1 soak=10m".`,
    );
  const stage: CampaignStage = { name, size: 'rest', maxConcurrency: 1, soakSeconds: 0, approval: false };
  for (const option of options) {
    const [key, value] = option.split('=', 2);
    if (key === 'approval' && (value === undefined || value === 'before')) stage.approval = true;
    else if (key === 'approval' && value === 'after') stage.approvalAfter = true;
    else if (key === 'approval' && value === 'both') {
      stage.approval = true;
      stage.approvalAfter = true;
    } else if (key === 'max-failures' && value)
      stage.maxFailures = parseBudget(value, `Stage "${spec}": max-failures=`);
    else if (key === 'size' && value)
      stage.size = value === 'rest' ? 'rest' : countOrPercent(value, spec, 'size');
    else if (key === 'group' && value) stage.group = value;
    else if (key === 'concurrency' && value)
      stage.maxConcurrency = countOrPercent(value, spec, 'concurrency');
    else if (key === 'soak' && value) stage.soakSeconds = durationSeconds(value, spec);
    else
      throw new CampaignInputError(
        `Stage "${spec}": unknown option "${option}"; use size=N|N%|rest, group=NAME[,NAME], concurrency=N|N%, soak=DURATION, approval[=before|after|both] or max-failures=N|N%.`,
      );
  }
  if (stage.group && options.some((o) => o.startsWith('size=')))
    throw new CampaignInputError(`Stage "${spec}": a group stage takes the group's clusters; drop size=.`);
  return stage;
}

function countOrPercent(value: string, spec: string, what: string): number | { percent: number } {
  const percent = /^(\d+)%$/.exec(value);
  if (percent) {
    const p = Number(percent[1]);
    if (p < 1 || p > 100)
      throw new CampaignInputError(`Stage "${spec}": ${what}=${value} must be between 1% and 100%.`);
    return { percent: p };
  }
  if (!/^\d+$/.test(value) || Number(value) < 1)
    throw new CampaignInputError(
      `Stage "${spec}": ${what}=${value} must be a whole number of at least 1, or a percentage.`,
    );
  return Number(value);
}

function durationSeconds(value: string, spec: string): number {
  const m = /^(\d+)(s|m|h|d)$/.exec(value);
  if (!m)
    throw new CampaignInputError(
      `Stage "${spec}": soak=${value} must be a duration such as 30s, 10m, 2h or 1d.`,
    );
  return Number(m[1]) * { s: 1, m: 60, h: 3600, d: 86400 }[m[2] as 's' | 'm' | 'h' | 'd'];
}

/** Stages must end with one that takes the rest, so that no selected cluster is left out silently. */
export function checkStages(stages: CampaignStage[]): void {
  if (stages.length === 0)
    throw new CampaignInputError(
      'A campaign needs at least one stage, e.g. --stage "canary size=1" --stage "rest concurrency=5".',
    );
  const names = new Set<string>();
  stages.forEach((stage, i) => {
    if (names.has(stage.name))
      throw new CampaignInputError(`Two stages are named "${stage.name}": give each its own name.`);
    names.add(stage.name);
    if (stage.size === 'rest' && !stage.group && i !== stages.length - 1)
      throw new CampaignInputError(
        `Stage "${stage.name}" takes the rest but is not the last: only the last stage can.`,
      );
  });
  if (stages[stages.length - 1]!.size !== 'rest' || stages[stages.length - 1]!.group) {
    throw new CampaignInputError(
      `The last stage ("${stages[stages.length - 1]!.name}") must take the rest (size=rest, the default), so that every selected cluster is in a stage.`,
    );
  }
}

/**
 * The clusters of each stage, in order: a group stage takes its Fleet Manager update group's clusters; the others
 * take counts and shares of the clusters left, the last stage the rest.
 */
export function assignStages<T>(
  clusters: readonly T[],
  stages: readonly CampaignStage[],
  groupOf: (c: T) => string | undefined = () => undefined,
): T[][] {
  const inStageGroups = (stage: CampaignStage, c: T) =>
    stage.group !== undefined && groupsOf(stage).includes(groupOf(c) ?? '');
  const rest = clusters.filter((c) => !stages.some((s) => inStageGroups(s, c)));
  let next = 0;
  return stages.map((stage) => {
    if (stage.group !== undefined) return clusters.filter((c) => inStageGroups(stage, c));
    const size =
      stage.size === 'rest'
        ? rest.length - next
        : typeof stage.size === 'number'
          ? stage.size
          : Math.max(1, Math.ceil((rest.length * stage.size.percent) / 100));
    const members = rest.slice(next, next + size);
    next += members.length;
    return members;
  });
}

/** The Fleet Manager update groups a group stage runs together. */
export const groupsOf = (stage: CampaignStage): string[] =>
  (stage.group ?? '')
    .split(',')
    .map((g) => g.trim())
    .filter(Boolean);

/** How many of a stage's `stageSize` clusters may run at once (at least one). */
export function concurrencyOf(stage: CampaignStage, stageSize: number): number {
  const c = stage.maxConcurrency;
  return Math.max(1, typeof c === 'number' ? c : Math.floor((stageSize * c.percent) / 100));
}

/**
 * Stop starting clusters once more than the allowance failed, were blocked or were not proven: `maxFailures`
 * clusters, or with `percent` that share of the clusters selected (rounded down).
 */
export interface ErrorBudget {
  maxFailures: number;
  percent?: number;
}

/** How many failures a budget allows over `clusters` clusters. */
export function allowanceOf(budget: ErrorBudget | number | { percent: number }, clusters: number): number {
  if (typeof budget === 'number') return budget;
  if ('maxFailures' in budget && budget.percent === undefined) return budget.maxFailures;
  return Math.floor((clusters * (budget.percent ?? 0)) / 100);
}

/** More failures than the allowance: no new cluster starts. */
export const budgetSpent = (allowance: number, failures: number) => failures > allowance;

/** `--max-failures` and a stage's `max-failures=`: a count, or a share of the clusters (`5%`). */
export function parseBudget(value: string, what: string): ErrorBudget {
  const percent = /^(\d+(?:\.\d+)?)%$/.exec(value.trim());
  if (percent && Number(percent[1]) <= 100) return { maxFailures: 0, percent: Number(percent[1]) };
  if (/^\d+$/.test(value.trim())) return { maxFailures: Number(value.trim()) };
  throw new CampaignInputError(
    `${what} ${value}: give a number of clusters (2) or a share of them (5%), at most 100%.`,
  );
}

/** Whether `cluster` is one the selection names. */
export function selects(selection: ClusterSelection, cluster: SelectedCluster): boolean {
  if (
    selection.clusterIds?.length &&
    !selection.clusterIds.some((id) => id.toLowerCase() === cluster.clusterId.toLowerCase())
  )
    return false;
  if (
    selection.resourceGroup &&
    selection.resourceGroup.toLowerCase() !== cluster.resourceGroup.toLowerCase()
  )
    return false;
  return Object.entries(selection.tags ?? {}).every(([k, v]) => cluster.tags[k] === v);
}

/** Why `procedure` does not apply to the cluster, or undefined when it does. */
export function notApplicable(procedure: CampaignProcedure, cluster: SelectedCluster): string | undefined {
  if (procedure === 'enable-kms') {
    if (cluster.kmsEnabled) return 'KMS is already on: rotate changes its key';
  } else if (procedure !== 'migrate-to-kms-v2' && (!cluster.kmsEnabled || !cluster.keyId)) {
    return `KMS is off: there is no key to ${procedure === 'rotate-key' ? 'rotate' : procedure === 'retire-key' ? 'retire' : 'change'}`;
  }
  // An operation still running is a wait (busyInArm), not a reason to leave the cluster out.
  if (isTerminal(cluster.provisioningState) && cluster.provisioningState.toLowerCase() !== 'succeeded')
    return `ARM reports the cluster ${cluster.provisioningState}: it takes a procedure once Succeeded (az aks update reconciles it)`;
  return undefined;
}

/** A selected cluster's place in a campaign before it starts: its stage, or why it is skipped. */
export interface CampaignMember {
  clusterId: string;
  name: string;
  /** Null for a skipped cluster. */
  stage: string | null;
  skipReason?: string;
  fleetGroup?: string;
}

/** What the plan shows and the campaign starts from: every selected cluster in its stage or skipped. */
export function formCampaign(
  procedure: CampaignProcedure,
  selected: readonly SelectedCluster[],
  stages: readonly CampaignStage[],
  /** Why a cluster's inputs do not fit the procedure, when they do not (the procedure's own rules). */
  inputsMisfit: (cluster: SelectedCluster) => string | undefined = () => undefined,
): { members: CampaignMember[]; stageSizes: number[] } {
  const members: CampaignMember[] = selected.map((s) => {
    const reason = notApplicable(procedure, s) ?? inputsMisfit(s);
    return {
      clusterId: s.clusterId,
      name: s.name,
      stage: null,
      ...(reason ? { skipReason: reason } : {}),
      ...(s.fleetGroup ? { fleetGroup: s.fleetGroup } : {}),
    };
  });
  const stageSizes = assignStages(
    members.filter((m) => !m.skipReason),
    stages,
    (m) => m.fleetGroup,
  ).map((inStage, i) => {
    for (const m of inStage) m.stage = stages[i]!.name;
    return inStage.length;
  });
  return { members, stageSizes };
}

/** What a campaign records of a cluster's procedure once it ended: its status there, and why when not proven. */
export interface ClusterOutcome {
  status: 'proven' | 'not-proven' | 'failed' | 'cancelled';
  reason?: string;
}

/** A procedure's result as a campaign reads it (the workflow's return value; no Secret value is in it). */
export interface ProcedureEnding {
  outcome: 'completed' | 'cancelled';
  evidence: { proven: boolean; notProven: string[] }[];
}

/** Proven only when the procedure re-encrypted and every re-encryption proved itself. */
export function outcomeOfProcedure(ending: ProcedureEnding): ClusterOutcome {
  if (ending.outcome === 'cancelled')
    return { status: 'cancelled', reason: 'cancelled on the cluster (kmsflow cancel)' };
  if (ending.evidence.length > 0 && ending.evidence.every((e) => e.proven)) return { status: 'proven' };
  return {
    status: 'not-proven',
    reason: ending.evidence.flatMap((e) => e.notProven).join(' ') || 'the procedure proved no re-encryption',
  };
}

/** Why a cluster cannot take a procedure now, though it may later (stopped, or an ARM operation running). */
export function busyInArm(cluster: { provisioningState: string; powerState?: string }): string | undefined {
  if (cluster.powerState?.toLowerCase() === 'stopped')
    return 'stopped: its API server does not run, so no Secret can be re-encrypted (az aks start, or skip it)';
  if (!isTerminal(cluster.provisioningState))
    return `ARM reports the cluster ${cluster.provisioningState}: an operation runs on it`;
  return undefined;
}
