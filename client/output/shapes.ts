/**
 * The machine-readable shapes the operator commands print with `--json` (documented in docs/cli.md).
 * Absent values are `null`, never missing keys, so scripts can rely on every key being there.
 */
import type { RunProof } from '../../model/ledger-model';
import type { DurationEstimate } from '../../workflows/plan';
import type { Phase, StepStatus } from '../../workflows/messages';

/** A procedure's status across Temporal and kmsflow: what `list --status` filters on. */
export const PROCEDURE_STATUSES = [
  'running',
  'completed',
  'cancelled',
  'failed',
  'terminated',
  'timed-out',
] as const;
export type ProcedureStatus = (typeof PROCEDURE_STATUSES)[number];

const PHASE_SET: Record<Phase, true> = {
  running: true,
  paused: true,
  'waiting-approval': true,
  blocked: true,
  completed: true,
  cancelled: true,
};
export const PHASES = Object.keys(PHASE_SET) as Phase[];

export interface StepProgressView {
  done: number;
  total: number | null;
  unit: string;
  /** Items per second over the step so far. */
  rate: number | null;
  etaSeconds: number | null;
}

export interface StepView {
  /** 1-based position in the procedure. */
  number: number;
  id: string;
  title: string;
  status: StepStatus;
  attempts: number;
  gate: { id: string; prompt: string } | null;
  /** The equivalent manual command (az / kubectl), when the procedure names one. */
  command: string | null;
  detail: string | null;
  progress: StepProgressView | null;
  blocked: { message: string; code: string | null; fix: string | null } | null;
  startedAt: string | null;
  endedAt: string | null;
}

export interface ApprovalView {
  gate: string;
  approver: string;
  at: string;
  comment: string | null;
  auto: boolean;
}

/** What an operator must do for the procedure to go on, with the exact command. */
export type { WaitingFor } from '../../workflows/engine/details';
import type { WaitingFor } from '../../workflows/engine/details';

export interface ProcedureSnapshot {
  workflowId: string;
  runId: string;
  workflowType: string;
  status: ProcedureStatus;
  /** Temporal's own execution status, e.g. `RUNNING`, `COMPLETED`, `TERMINATED`. */
  executionStatus: string;
  /** The exit code `status` returns for this state. */
  exitCode: number;
  procedure: string | null;
  cluster: string | null;
  phase: Phase | null;
  paused: boolean;
  currentStep: string | null;
  steps: StepView[];
  approvals: ApprovalView[];
  waitingFor: WaitingFor | null;
  /** The activity the procedure runs now, when one runs: an ARM operation's state, or a retry and its reason. */
  activity: PendingActivityView | null;
  startedAt: string;
  endedAt: string | null;
  /** Why Temporal failed, terminated or timed out the run. */
  failure: string | null;
  /** Where the step list came from: the live `progress` query, the run's result, or only its search attributes. */
  source: 'query' | 'result' | 'search-attributes';
  /** Why the step list is missing, when it is. */
  note: string | null;
  /** The worker version (Worker Versioning) the run is on, and whether it is pinned there; null when unversioned. */
  workerVersion: WorkerVersionView | null;
}

export interface WorkerVersionView {
  deploymentName: string;
  buildId: string;
  behavior: 'pinned' | 'auto-upgrade' | null;
}

/** `kmsflow versions`: the worker deployment's versions, newest first. */
export interface DeploymentView {
  deploymentName: string;
  /** The version new procedures start on; null when none is set. */
  current: string | null;
  versions: DeploymentVersionView[];
}

export interface DeploymentVersionView {
  buildId: string;
  status: 'current' | 'ramping' | 'draining' | 'drained' | 'inactive';
  /** kmsflow procedures and campaigns running on this version now (pinned to it: only its workers can go on with them). */
  runningProcedures: number;
  /** False once the version takes no new procedures and none runs on it: its workers can be stopped. */
  workersNeeded: boolean;
  createdAt: string | null;
}

export interface PendingActivityView {
  type: string;
  attempt: number;
  /** A cluster change: what ARM reported for the cluster at the activity's last heartbeat (e.g. `Updating`). */
  armState: string | null;
  /** A retrying activity: why its last attempt failed (throttling, a 5xx, a refused connection) … */
  lastFailure: string | null;
  /** … and when Temporal starts the next attempt (backoff, or the service's Retry-After). */
  nextAttemptAt: string | null;
}

export interface ProcedureRow {
  workflowId: string;
  runId: string;
  /** The procedure run's identity (its first run id): what `--run` takes and what the key ledger records. */
  firstRunId: string;
  procedure: string | null;
  cluster: string | null;
  phase: Phase | null;
  step: string | null;
  status: ProcedureStatus;
  executionStatus: string;
  startedAt: string;
  endedAt: string | null;
  /** What the run proved, from the cluster's key ledger; null when the ledger does not know the run. */
  proof: RunProof | null;
  /** The worker version the run is on (Worker Versioning); null when unversioned. */
  workerVersion: WorkerVersionView | null;
}

export interface ProcedureList {
  query: string;
  procedures: ProcedureRow[];
}

export type OperatorAction = 'approve' | 'pause' | 'resume' | 'retry' | 'cancel';

export interface ActionResult {
  workflowId: string;
  action: OperatorAction;
  /** Who asked (`--as`, else $USER). */
  requestedBy: string;
  /** The procedure's answer to an update (approval, retried step, cancellation), null for signals. */
  result: unknown;
  message: string;
}

export interface ErrorShape {
  error: { exitCode: number; message: string };
}

/** `start --json`: what was started and how to follow it. */
export interface StartResult {
  workflowId: string;
  runId: string;
  workflowType: string;
  /** e.g. `enable-kms` (the KmsProcedure search attribute). */
  procedure: string;
  cluster: string;
  clusterId: string;
  taskQueue: string;
  requestedBy: string;
  /** The workflow input: ids, modes, gates and tuning only, never a Secret value. */
  input: unknown;
  /** Link to the workflow in the Temporal Web UI, when `--ui-url` or KMSFLOW_UI_URL names the UI. */
  uiUrl: string | null;
  /** Whether a worker polled the task queue recently; the procedure waits for one otherwise. */
  workerSeen: boolean;
  /** The commands to run next, ready to paste. */
  next: string[];
}

export interface FindingView {
  severity: 'error' | 'warning' | 'info';
  code: string;
  message: string;
  fix: string | null;
}

export interface PlanStepView {
  number: number;
  id: string;
  title: string;
  gate: { id: string; prompt: string } | null;
  /** The equivalent manual command (az / kubectl). */
  command: string | null;
}

export interface KeySlotsView {
  current: string | null;
  previous: string | null;
}

/** `plan --json`: what a procedure would do; a plan changes nothing. */
export interface PlanResult {
  procedure: string;
  clusterId: string;
  cluster: string;
  kubernetesVersion: string;
  kms: { enabled: boolean; keyId: string | null; networkAccess: string | null };
  /** False when preflight found an error: `start` would stop at its preflight step. */
  ok: boolean;
  findings: FindingView[];
  steps: PlanStepView[];
  secretsInScope: number | null;
  estimatedSeconds: number;
  /** What estimatedSeconds is made of and where each figure comes from (docs/cli.md). */
  estimate: DurationEstimate;
  secretsPerSecond: number;
  slots: { before: KeySlotsView; after: KeySlotsView };
  /** The read-only workflow that computed the plan. */
  workflowId: string;
}

export interface KeyRecordView {
  keyId: string;
  /** current | previous | null: where AKS holds it now. */
  slot: 'current' | 'previous' | null;
  /** still-needed | retirable | retired */
  state: 'still-needed' | 'retirable' | 'retired';
  setAt: string;
  replacedAt: string | null;
  provenAt: string | null;
  migratedAwayAt: string | null;
  retiredAt: string | null;
  retiredHow: 'disable' | 'expire' | null;
}

export interface ReencryptionProofView {
  keyId: string | null;
  /** `started`: it began and no result was recorded (cancelled, failed or still running). */
  status: 'started' | 'completed';
  proven: boolean;
  at: string;
  workflowId: string;
  runId: string | null;
  watermark: string;
  digest: string;
  objects: number;
  secretsPerSecond: number | null;
}

/** `keys --json`: the key ledger of one cluster. */
export interface KeysResult {
  clusterId: string;
  cluster: string;
  /** False when kmsflow has never recorded anything for this cluster. */
  known: boolean;
  kmsEnabled: boolean;
  slots: KeySlotsView;
  keys: KeyRecordView[];
  stillNeeded: string[];
  retirable: string[];
  lastReencryption: ReencryptionProofView | null;
  /** Every procedure run on the cluster, newest first, with its outcome and proof. */
  procedures: ProcedureRow[];
  /** What Azure reports now: AKS's current slot (ARM) and each key's state (Key Vault); null when no worker could read Azure. */
  azure: AzureKeysView | null;
  /** Why `azure` is null: no worker polls the task queue, or the worker could not read Azure. */
  azureUnread: string | null;
  /** Keys Secrets may still be stored under that are disabled, expired, unreadable or expire within `warnDays`. */
  warnings: string[];
  warnDays: number;
  note: string | null;
}

export interface AzureKeysView {
  kmsEnabled: boolean;
  networkAccess: string | null;
  currentKeyId: string | null;
  keys: {
    keyId: string;
    /** Where kmsflow knows the key from: ARM's current slot, or only its own ledger (previous slot, not yet migrated away). */
    source: 'arm-current-slot' | 'ledger';
    enabled: boolean | null;
    expiresOn: string | null;
    problem: string | null;
  }[];
}

export interface PassView {
  /** Secrets per outcome: rewritten, alreadyCurrent, newerThanWatermark, gone, rewrittenByOther, failed, stale. */
  counts: Record<string, number>;
  objects: number;
  pages: number;
  expiredListings: number;
  throttled: number;
  digest: string;
  /** Rewrite pass: Secrets written before the key change that a no-op update left unchanged (must be 0). */
  keptDespiteKeyChange: number;
}

/** One re-encryption of a procedure and its proof. */
export interface ReencryptionView {
  /** The child workflow that ran it, when known. */
  workflowId: string | null;
  /** The procedure step (e.g. `reencrypt`, `reencrypt-1`), when known. */
  step: string | null;
  /** `completed`, or `running` for one still in progress (then not yet proven). */
  state: 'completed' | 'running';
  /** What every Secret must be stored under: a key id, or `identity` (unencrypted, after disable). */
  expected: string;
  proven: boolean;
  notProven: string[];
  /** What a reader should know although it is proven, e.g. why nothing needed rewriting. */
  notes: string[];
  watermark: string | null;
  rewrite: PassView;
  verify: PassView;
  failures: { namespace: string; name: string; reason: string; code: string | null }[];
  startedAt: string | null;
  endedAt: string | null;
  durationSeconds: number | null;
  secretsPerSecond: number | null;
}

/** `report --json`: the re-encryption evidence of a procedure. */
export interface ReportResult {
  workflowId: string;
  runId: string;
  procedure: string | null;
  cluster: string | null;
  status: ProcedureStatus;
  /** proven: every re-encryption completed and proven; not-proven: one is not; unknown: no finished evidence. */
  verdict: 'proven' | 'not-proven' | 'unknown';
  exitCode: number;
  /** Where the evidence came from: the procedure's result, or its re-encryption children (running or failed runs). */
  source: 'result' | 'children';
  reencryptions: ReencryptionView[];
  note: string | null;
}
