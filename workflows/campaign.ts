/**
 * A campaign: one procedure across the clusters a selection names, stage after stage. Each cluster's
 * procedure is a child under the cluster's own workflow id, so the one-procedure-per-cluster rule and every
 * per-cluster view keep working. Stages run in order, each with its concurrency, an optional approval before
 * it and a soak after it; the error budget stops new starts once too many clusters failed, were blocked or
 * were not proven. A blocked procedure does not end (it waits for its operator), so it frees its place at
 * once and the campaign reports it.
 */
import {
  allHandlersFinished,
  ApplicationFailure,
  condition,
  continueAsNew,
  ParentClosePolicy,
  setCurrentDetails,
  setHandler,
  startChild,
  upsertSearchAttributes,
  workflowInfo,
  WorkflowIdReusePolicy,
} from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import {
  budgetSpent,
  type CampaignMember,
  type CampaignStage,
  concurrencyOf,
  DEFAULT_RECHECK_SECONDS,
  formCampaign,
  KEY_FROM_CLUSTER,
  notApplicable,
} from '../model/campaign';
import { type CheckedFlags, ProcedureInputError } from '../model/procedure-flags';
import { keyId as versionedKeyId, parseKeyId } from '../model/ids';
import { quick } from './activity-proxies';
import {
  approveStageUpdate,
  type CampaignClusterState,
  type CampaignInput,
  type CampaignPhase,
  type CampaignProgress,
  CAMPAIGN_WORKFLOW_PREFIX,
  campaignProgressQuery,
  cancelCampaignUpdate,
  FAILURE_STATUSES,
  pauseCampaignSignal,
  resumeCampaignSignal,
  retryClusterUpdate,
  skipClusterUpdate,
} from './campaign-messages';
import { CampaignAttribute, PhaseAttribute, procedurePhaseSignal, procedureWorkflowId } from './messages';
import { procedureNamed } from './procedures';
import { preflightInputOf, type ProcedureInputBase, type ProcedureOutcome } from './procedures/common';
import { ProcedureRun, runPreflight } from './procedure-steps';
import type { Finding } from '../model/preflight';
import { followCurrentVersion } from './versioning-behavior';

const now = () => new Date().toISOString();

export async function campaign(input: CampaignInput): Promise<CampaignProgress> {
  // A scheduled campaign has no id of its own: Temporal names each run's workflow id after the schedule and its time.
  const campaignId = input.campaignId ?? workflowInfo().workflowId.replace(CAMPAIGN_WORKFLOW_PREFIX, '');
  const procedure = procedureNamed(input.procedure);
  if (!procedure) throw ApplicationFailure.nonRetryable(`Unknown procedure ${input.procedure}.`);
  const progress: CampaignProgress = input.carried ?? {
    campaignId: campaignId,
    procedure: input.procedure,
    phase: 'selecting',
    paused: false,
    stage: null,
    stages: input.stages.map((s) => ({ name: s.name, clusters: 0, status: 'pending' })),
    clusters: [],
    budget: { maxFailures: input.errorBudget.maxFailures, failures: 0, left: input.errorBudget.maxFailures },
    startedAt: now(),
  };
  let cancelled = progress.phase === 'cancelled';
  /** Clusters whose procedure runs now, by the procedure's workflow id. */
  const running = new Map<string, CampaignClusterState>();
  const newVersions = new Map<string, Promise<string>>();
  // Kept in the progress, so a retry accepted just before a continue-as-new is taken by the next run.
  progress.retried ??= [];
  const retried = progress.retried;
  /** Clusters a lane has taken and is starting: no other lane may take them meanwhile. */
  const starting = new Set<string>();

  const failures = () => progress.clusters.filter((c) => FAILURE_STATUSES.includes(c.status)).length;
  const stopping = () => cancelled || budgetSpent(input.errorBudget, failures());
  const clusterNamed = (name: string) =>
    progress.clusters.find(
      (c) => c.clusterId.toLowerCase() === name.toLowerCase() || c.name.toLowerCase() === name.toLowerCase(),
    );

  let publishedPhase = '';
  const publish = (phase?: CampaignPhase) => {
    if (phase) progress.phase = phase;
    const f = failures();
    progress.budget = {
      maxFailures: input.errorBudget.maxFailures,
      failures: f,
      left: Math.max(0, input.errorBudget.maxFailures - f),
    };
    setCurrentDetails(details(progress));
    if (publishedPhase !== progress.phase) {
      upsertSearchAttributes([
        { key: CampaignAttribute, value: campaignId },
        { key: PhaseAttribute, value: progress.phase },
      ]);
      publishedPhase = progress.phase;
    }
  };

  setHandler(campaignProgressQuery, () => progress);
  setHandler(pauseCampaignSignal, () => {
    progress.paused = true;
    publish();
  });
  setHandler(resumeCampaignSignal, () => {
    progress.paused = false;
    publish();
  });
  setHandler(
    approveStageUpdate,
    (request) => {
      const stage = progress.stages.find((s) => s.status === 'waiting-approval')!;
      stage.approvedBy = request.requestedBy ?? 'unknown';
      stage.status = 'running';
      publish('running');
      return { stage: stage.name };
    },
    {
      validator: (request) => {
        const waiting = progress.stages.find((s) => s.status === 'waiting-approval');
        if (!waiting) throw new Error(`no stage waits for approval (phase: ${progress.phase}).`);
        if (request.stage && request.stage !== waiting.name)
          throw new Error(`stage ${waiting.name} waits for approval, not ${request.stage}.`);
      },
    },
  );
  setHandler(
    skipClusterUpdate,
    (request) => {
      const c = clusterNamed(request.cluster)!;
      c.status = 'skipped';
      c.reason = `skipped by ${request.requestedBy ?? 'an operator'}`;
      publish();
      return { clusterId: c.clusterId };
    },
    {
      validator: (request) => {
        const c = clusterNamed(request.cluster);
        if (!c) throw new Error(`cluster ${request.cluster} is not in this campaign.`);
        if (c.status !== 'pending' && c.status !== 'waiting-window' && c.status !== 'waiting-busy') {
          throw new Error(
            `cluster ${c.name} is ${c.status}: only a cluster not started yet can be skipped (a running one: kmsflow cancel ${c.clusterId}).`,
          );
        }
      },
    },
  );
  setHandler(
    retryClusterUpdate,
    (request) => {
      const c = clusterNamed(request.cluster)!;
      c.status = 'pending';
      delete c.reason;
      retried.push(c.clusterId);
      publish();
      return { clusterId: c.clusterId };
    },
    {
      validator: (request) => {
        const c = clusterNamed(request.cluster);
        if (!c) throw new Error(`cluster ${request.cluster} is not in this campaign.`);
        if (!['failed', 'not-proven', 'skipped', 'not-started'].includes(c.status)) {
          const hint =
            c.status === 'blocked' ? ` (a blocked procedure goes on with: kmsflow retry ${c.clusterId})` : '';
          throw new Error(
            `cluster ${c.name} is ${c.status}: only a failed, not-proven, skipped or not-started cluster can be retried${hint}.`,
          );
        }
        if (
          cancelled ||
          budgetSpent(input.errorBudget, failures()) ||
          !progress.stages.some((s) => s.status !== 'done' && s.status !== 'not-started')
        ) {
          throw new Error('the campaign starts no more clusters: start a new campaign for it.');
        }
      },
    },
  );
  setHandler(
    cancelCampaignUpdate,
    (request) => {
      cancelled = true;
      progress.haltReason = `cancelled by ${request.requestedBy ?? 'an operator'}: ${request.reason}`;
      publish();
      return { cancelled: true };
    },
    {
      validator: (_request) => {
        if (progress.phase === 'completed' || progress.phase === 'cancelled' || progress.phase === 'halted')
          throw new Error(`the campaign is already ${progress.phase}.`);
      },
    },
  );
  setHandler(procedurePhaseSignal, (change) => {
    const c = running.get(change.workflowId);
    if (!c) return;
    if (change.phase === 'blocked') {
      c.status = 'blocked';
      c.reason = `blocked at step ${change.step}: fix what kmsflow status ${c.clusterId} shows, then kmsflow retry ${c.clusterId} (or kmsflow cancel it)`;
    } else if (change.phase === 'waiting-approval') {
      c.status = 'waiting-approval';
      c.reason = `waits for approval at step ${change.step}: kmsflow approve ${c.clusterId}`;
    } else if (change.phase === 'running' || change.phase === 'paused') {
      c.status = 'running';
      delete c.reason;
    }
    publish();
  });

  publish();
  if (!input.carried) {
    const { members, stageSizes } = await formFromSelection(input);
    progress.clusters = members.map((m) => ({
      clusterId: m.clusterId,
      name: m.name,
      stage: m.stage,
      status: m.skipReason ? 'skipped' : 'pending',
      ...(m.skipReason ? { reason: m.skipReason } : {}),
    }));
    stageSizes.forEach((size, i) => (progress.stages[i]!.clusters = size));
    publish('running');
  }

  /** Rotate: one new version per key the clusters use, created once for the whole campaign. */
  const newVersionOf = (keyId: string): Promise<string> => {
    const ref = parseKeyId(keyId);
    const id = `${ref.vaultUrl}/keys/${ref.name}`.toLowerCase();
    if (!newVersions.has(id)) {
      newVersions.set(
        id,
        quick
          .createKeyVersion({
            vaultUrl: ref.vaultUrl,
            name: ref.name,
            operationKey: `campaign:${campaignId}:${ref.name}`,
          })
          .then((v) => versionedKeyId({ ...ref, version: v.version })),
      );
    }
    return newVersions.get(id)!;
  };

  /** Runs the cluster's procedure; 'busy' when another procedure runs on it and the policy is to wait. */
  async function runCluster(c: CampaignClusterState): Promise<'busy' | void> {
    c.status = 'running';
    c.startedAt = now();
    delete c.endedAt;
    publish();
    const workflowId = procedureWorkflowId(c.clusterId);
    let result: Promise<ProcedureOutcome>;
    try {
      const digest = await quick.getClusterDigest(c.clusterId);
      const stillApplies = notApplicable(input.procedure, {
        ...c,
        resourceGroup: '',
        tags: {},
        kmsEnabled: digest.kms.enabled,
        ...(digest.kms.keyId ? { keyId: digest.kms.keyId } : {}),
        provisioningState: 'Succeeded',
      });
      if (stillApplies) throw new NotApplicable(`${stillApplies} (now)`);
      const derive = derivesKey(input, c) && input.procedure === 'rotate-key' && digest.kms.keyId;
      const procedureInput = clusterInput(
        input,
        c,
        derive ? await newVersionOf(digest.kms.keyId!) : undefined,
      );
      if (typeof procedureInput === 'string') throw new NotApplicable(procedureInput);
      const keyId = (procedureInput as { keyId?: string }).keyId;
      const child = await startChild(procedure!.workflow, {
        workflowId,
        args: [procedureInput],
        parentClosePolicy: ParentClosePolicy.ABANDON,
        workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
        typedSearchAttributes: [{ key: CampaignAttribute, value: campaignId }],
      });
      c.runId = child.firstExecutionRunId;
      if (keyId) c.keyId = keyId;
      running.set(workflowId, c);
      result = child.result();
    } catch (err) {
      if (err instanceof WorkflowExecutionAlreadyStartedError && input.busyClusters === 'wait') {
        delete c.startedAt;
        return 'busy';
      }
      const skipped = err instanceof WorkflowExecutionAlreadyStartedError || err instanceof NotApplicable;
      c.status = skipped ? 'skipped' : 'failed';
      c.reason =
        err instanceof WorkflowExecutionAlreadyStartedError
          ? `busy: another procedure runs on it (kmsflow status ${c.clusterId}); retry it in this campaign once that one ended, or start campaigns with --busy wait`
          : skipped
            ? messageOf(err)
            : `did not start: ${messageOf(err)}`;
      c.endedAt = now();
      publish();
      return;
    }
    const ended = result.then(
      (outcome) => {
        if (outcome.outcome === 'cancelled') {
          c.status = 'cancelled';
          c.reason = 'cancelled on the cluster (kmsflow cancel)';
        } else if (outcome.evidence.length > 0 && outcome.evidence.every((e) => e.proven)) {
          c.status = 'proven';
          delete c.reason;
        } else {
          c.status = 'not-proven';
          c.reason =
            outcome.evidence.flatMap((e) => e.notProven).join(' ') || 'the procedure proved no re-encryption';
        }
      },
      (err) => {
        c.status = 'failed';
        c.reason = messageOf(err);
      },
    );
    // The place is free once the procedure ended, or once it is blocked (it then waits for its operator).
    await Promise.race([ended, condition(() => c.status === 'blocked')]);
    void ended.then(() => {
      c.endedAt = now();
      running.delete(workflowId);
      publish();
    });
    publish();
  }

  for (const [index, stage] of input.stages.entries()) {
    const state = progress.stages[index]!;
    if (state.status === 'done' || state.status === 'not-started') continue;
    if (stopping()) break;
    progress.stage = stage.name;
    if (stage.approval && state.status === 'pending' && !autoApproved(input, stage)) {
      state.status = 'waiting-approval';
      publish('waiting-approval');
      await condition(() => state.status !== 'waiting-approval' || cancelled);
      if (cancelled) break;
    }
    state.status = 'running';
    publish('running');
    await runStage(stage, state.clusters);
    if (stopping()) break;
    const more = index < input.stages.length - 1;
    if (stage.soakSeconds > 0 && more) {
      state.status = 'soaking';
      state.soakUntil = new Date(Date.now() + stage.soakSeconds * 1000).toISOString();
      publish('soaking');
      await condition(() => cancelled, stage.soakSeconds * 1000);
    }
    state.status = 'done';
    publish('running');
    if (more && workflowInfo().continueAsNewSuggested && running.size === 0) {
      // Handlers are synchronous today; one that awaits must finish before this run ends.
      await condition(allHandlersFinished);
      await continueAsNew<typeof campaign>({ ...input, campaignId, carried: progress });
    }
  }

  /** The stage's pending clusters (and any retried since), `concurrencyOf` at a time, paused or not. */
  async function runStage(stage: CampaignStage, size: number): Promise<void> {
    const queue = progress.clusters.filter((c) => c.stage === stage.name && c.status === 'pending');
    const takeable = (c: CampaignClusterState | undefined) =>
      !!c && c.status === 'pending' && !starting.has(c.clusterId);
    const take = (): CampaignClusterState | undefined => {
      if (retried.length > 0) {
        const id = retried.shift();
        const next = progress.clusters.find((c) => c.clusterId === id);
        return takeable(next) ? next : take();
      }
      if (queue.length === 0) return undefined;
      const next = queue.shift();
      return takeable(next) ? next : take();
    };
    /** Clusters that wait (outside their maintenance window, or busy), looked at again every recheck or when a window opens. */
    const waiting: { cluster: CampaignClusterState; until?: string }[] = [];
    const wait = (
      c: CampaignClusterState,
      status: 'waiting-window' | 'waiting-busy',
      reason: string,
      until?: string,
    ) => {
      c.status = status;
      c.reason = reason;
      waiting.push({ cluster: c, ...(until ? { until } : {}) });
      publish();
    };
    const lane = async () => {
      for (;;) {
        await condition(() => !progress.paused || stopping());
        if (stopping()) return;
        const next = take();
        if (!next) {
          if (waiting.length === 0) return;
          await recheckWaiting();
          continue;
        }
        starting.add(next.clusterId);
        try {
          await startTaken(next);
        } finally {
          starting.delete(next.clusterId);
        }
      }
    };
    /** Starts a cluster a lane took, unless it waits for its window or another procedure, or was skipped meanwhile. */
    const startTaken = async (next: CampaignClusterState) => {
      if (input.maintenanceWindows !== 'ignore') {
        const window = await quick.maintenanceWindowOf(next.clusterId);
        if (!window.open && next.status === 'pending') {
          const until =
            window.opensAt ?? 'a window opens (none within a year: change the configuration or skip it)';
          wait(
            next,
            'waiting-window',
            `outside its maintenance window (${window.configurations.join(', ')}): waits until ${until}`,
            window.opensAt,
          );
          return;
        }
      }
      if (next.status !== 'pending') return; // skipped while its window was read
      if ((await runCluster(next)) === 'busy') {
        wait(
          next,
          'waiting-busy',
          `busy: another procedure runs on it (kmsflow status ${next.clusterId}); it starts once that one ended`,
        );
      }
    };
    const recheckWaiting = async () => {
      const soonest = Math.min(
        ...waiting.map((w) => (w.until ? Date.parse(w.until) - Date.now() : Infinity)),
      );
      const recheckMs = (input.recheckSeconds ?? DEFAULT_RECHECK_SECONDS) * 1000;
      await condition(
        () => stopping() || retried.length > 0 || waiting.length === 0,
        Math.max(1_000, Math.min(soonest, recheckMs)),
      );
      for (const { cluster } of waiting.splice(0)) {
        if (cluster.status !== 'waiting-window' && cluster.status !== 'waiting-busy') continue; // skipped meanwhile
        cluster.status = 'pending';
        delete cluster.reason;
        queue.push(cluster);
      }
    };
    for (;;) {
      await Promise.all(
        Array.from(
          { length: Math.min(concurrencyOf(stage, size), Math.max(1, size + retried.length)) },
          lane,
        ),
      );
      // Procedures still running but blocked stay so; those that run on are waited for. A retry accepted
      // meanwhile starts the lanes again: no other lane is left to take it.
      await condition(
        () =>
          (retried.length > 0 && !stopping()) || [...running.values()].every((c) => c.status === 'blocked'),
      );
      if (retried.length === 0 || stopping()) return;
    }
  }

  retried.length = 0;
  for (const c of progress.clusters) if (c.status === 'pending') c.status = 'not-started';
  for (const s of progress.stages)
    if (s.status === 'pending' || s.status === 'waiting-approval') s.status = 'not-started';
  if (!cancelled && budgetSpent(input.errorBudget, failures())) {
    progress.haltReason = `${failures()} cluster(s) failed, were blocked or were not proven: more than the error budget of ${input.errorBudget.maxFailures}.`;
  }
  progress.stage = null;
  progress.endedAt = now();
  publish(cancelled ? 'cancelled' : progress.haltReason ? 'halted' : 'completed');
  return progress;
}

type InputSource = Pick<
  CampaignInput,
  'procedure' | 'flags' | 'clusterFlags' | 'procedureOptions' | 'requestedBy'
>;

/** The flags for one cluster: its row in the mapping over the flags for all. */
function flagsFor(input: InputSource, c: { clusterId: string; name: string }): CheckedFlags {
  const own = input.clusterFlags?.[c.clusterId.toLowerCase()] ?? input.clusterFlags?.[c.name.toLowerCase()];
  return { ...input.flags, ...own };
}

/** rotate without a key given: the campaign's new version of the key the cluster uses. */
const derivesKey = (input: InputSource, c: { clusterId: string; name: string }) =>
  KEY_FROM_CLUSTER.includes(input.procedure) && !flagsFor(input, c).keyId;

/**
 * The cluster's procedure input from its flags (the procedure's own rules, as `kmsflow start` applies them), or
 * the sentence why it has none. `derivedKeyId`: rotate's new version when no key was given.
 */
function clusterInput(
  input: InputSource,
  c: { clusterId: string; name: string },
  derivedKeyId?: string,
): ProcedureInputBase | string {
  const definition = procedureNamed(input.procedure)!.definition;
  const base: ProcedureInputBase = {
    clusterId: c.clusterId,
    ...input.procedureOptions,
    ...(input.requestedBy ? { requestedBy: input.requestedBy } : {}),
  };
  const flags = { ...flagsFor(input, c), ...(derivedKeyId ? { keyId: derivedKeyId } : {}) };
  // rotate's key is the campaign's new version, created only when the cluster's turn comes.
  if (derivesKey(input, c) && input.procedure === 'rotate-key' && !derivedKeyId) return base;
  try {
    return definition.input(flags, base);
  } catch (err) {
    if (err instanceof ProcedureInputError) return `its inputs do not fit: ${err.message}`;
    throw err;
  }
}

/** Selected clusters in their stages; those the procedure does not apply to, or whose inputs do not fit, skipped with why. */
async function formFromSelection(
  input: InputSource & Pick<CampaignInput, 'selection' | 'stages'>,
): Promise<{ members: CampaignMember[]; stageSizes: number[] }> {
  return formCampaign(input.procedure, await quick.selectClusters(input.selection), input.stages, (c) => {
    const result = clusterInput(input, c);
    return typeof result === 'string' ? result : undefined;
  });
}

/** The cluster no longer fits the procedure when its turn came. */
class NotApplicable extends Error {}

function autoApproved(input: CampaignInput, stage: CampaignStage): boolean {
  return input.autoApprove === 'all' || (input.autoApprove ?? []).includes(stage.name);
}

function messageOf(err: unknown): string {
  const e = err as { cause?: { message?: string; cause?: { message?: string } }; message?: string };
  return e.cause?.cause?.message ?? e.cause?.message ?? e.message ?? String(err);
}

/** The Web UI's current details: stage, counts, budget. */
function details(p: CampaignProgress): string {
  const counts = new Map<string, number>();
  for (const c of p.clusters) counts.set(c.status, (counts.get(c.status) ?? 0) + 1);
  const line = [...counts.entries()].map(([status, n]) => `${status} ${n}`).join(' · ');
  return (
    `**Campaign ${p.campaignId}** (${p.procedure}) — ${p.phase}${p.paused ? ' (paused)' : ''}${p.stage ? `, stage ${p.stage}` : ''}\n\n` +
    `${p.clusters.length} clusters: ${line || 'none yet'}\n\nerror budget: ${p.budget.failures} of ${p.budget.maxFailures} used`
  );
}

/** A cluster's preflight at plan time: what would refuse its procedure before it changes anything. */
export interface PlannedPreflight {
  ok: boolean;
  errors: Pick<Finding, 'code' | 'message' | 'fix'>[];
  warnings: number;
  /** What the plan could not check yet, and why. */
  note?: string;
}

export interface CampaignPlan {
  procedure: CampaignInput['procedure'];
  members: (CampaignMember & { preflight?: PlannedPreflight })[];
  stages: (CampaignStage & { clusters: number; concurrency: number })[];
}

/** Preflights at once while planning: each reads ARM, Key Vault and the cluster. */
const PLAN_PREFLIGHT_CONCURRENCY = 8;

/**
 * rotate's new version is created when the cluster's turn comes, so the plan checks the cluster against the
 * key it uses now (same vault, same permissions and network rules) and leaves out what compares the two keys.
 */
const CHECKED_AT_THE_CLUSTER_TURN = ['SameKey', 'SameKeyUnproven'];

async function preflightAtPlan(input: InputSource, member: CampaignMember): Promise<PlannedPreflight> {
  const definition = procedureNamed(input.procedure)!.definition;
  try {
    const start = await quick.getClusterDigest(member.clusterId);
    const keyLater = derivesKey(input, member) && input.procedure === 'rotate-key';
    // rotate's other flags (--mode, --vault-id) are checked with the key in use standing in for the new version.
    const checked = clusterInput(input, member, keyLater ? start.kms.keyId : undefined);
    if (typeof checked === 'string')
      return { ok: false, errors: [{ code: 'InputsDoNotFit', message: checked }], warnings: 0 };
    const report = await runPreflight(
      definition,
      preflightInputOf(definition, checked, new ProcedureRun(member.clusterId), start),
    );
    const findings = keyLater
      ? report.findings.filter((f) => !CHECKED_AT_THE_CLUSTER_TURN.includes(f.code))
      : report.findings;
    const errors = findings
      .filter((f) => f.severity === 'error')
      .map(({ code, message, fix }) => ({ code, message, ...(fix ? { fix } : {}) }));
    return {
      ok: errors.length === 0,
      errors,
      warnings: findings.filter((f) => f.severity === 'warning').length,
      ...(keyLater
        ? { note: "the new key version is created at the cluster's turn: checked against the key in use" }
        : {}),
    };
  } catch (err) {
    // One cluster that cannot be read must not cost the plan of every other.
    return { ok: false, errors: [{ code: 'PreflightNotRun', message: messageOf(err) }], warnings: 0 };
  }
}

/**
 * What `kmsflow campaign plan` shows: the selected clusters in their stages, and the skipped ones with why;
 * with `preflight`, each selected cluster's preflight too. Reads only.
 */
export async function planCampaign(
  input: Pick<CampaignInput, 'procedure' | 'selection' | 'stages' | 'flags' | 'clusterFlags'> & {
    preflight?: boolean;
  },
): Promise<CampaignPlan> {
  const { members, stageSizes } = await formFromSelection(input);
  const planned: CampaignPlan['members'] = members.map((m) => ({ ...m }));
  if (input.preflight) {
    const selected = planned.filter((m) => !m.skipReason);
    for (let i = 0; i < selected.length; i += PLAN_PREFLIGHT_CONCURRENCY)
      await Promise.all(
        selected.slice(i, i + PLAN_PREFLIGHT_CONCURRENCY).map(async (m) => {
          m.preflight = await preflightAtPlan(input, m);
        }),
      );
  }
  return {
    procedure: input.procedure,
    members: planned,
    stages: input.stages.map((s, i) => ({
      ...s,
      clusters: stageSizes[i]!,
      concurrency: concurrencyOf(s, stageSizes[i]!),
    })),
  };
}

followCurrentVersion(planCampaign);
