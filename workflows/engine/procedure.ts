/**
 * The procedure engine: every kmsflow procedure is an ordered list of named steps run by `runProcedure`,
 * which owns step state, approval gates, pause/resume, blocked-and-retry, cancel, the progress query,
 * the Web UI's current details and the search attributes.
 */
import {
  allHandlersFinished,
  CancellationScope,
  type ChildWorkflowHandle,
  condition,
  getExternalWorkflowHandle,
  isCancellation,
  patched,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  type Workflow,
  workflowInfo,
} from '@temporalio/workflow';
import {
  type Approval,
  approveUpdate,
  cancelUpdate,
  ClusterAttribute,
  pauseSignal,
  type OperatorRequest,
  type Phase,
  PhaseAttribute,
  procedurePhaseSignal,
  type ProcedureProgress,
  ProcedureAttribute,
  progressQuery,
  resumeSignal,
  retryUpdate,
  type StepProgress,
  type StepState,
  StepAttribute,
} from '../messages';
import { CANCEL_CHILDREN_BY_ID_PATCH } from '../patches';
import type { OperationKind } from '../../model/ledger-model';
import { renderCurrentDetails } from './details';
import { blockedReasonOf, isStepFailure } from './failures';

export interface StepContext {
  /** 1 for the first run of the step, 2 after the first `retry`, … */
  readonly attempt: number;
  /**
   * Sub-progress of a long step (e.g. Secrets rewritten); shown by the progress query and the Web UI. The rate
   * counts from the first report with `active` (default: the step's start), so a wait before the work (e.g.
   * for a key to propagate) neither shows as 0/s nor drags the rate and ETA down afterwards.
   */
  reportProgress(progress: Omit<StepProgress, 'rate'> & { active?: boolean }): void;
  /** A short line about what the step is doing now. Never a Secret value. */
  setDetail(detail: string): void;
  /** Waits while the procedure is paused; long steps call it between units of work. */
  checkpoint(): Promise<void>;
  /** Passes pause/resume and cancel on to a child workflow the step runs (e.g. the re-encryption). */
  forwardControlTo(child: ChildWorkflowHandle<Workflow>): void;
}

export interface StepDefinition {
  id: string;
  title: string;
  /** An approval gate the step waits at before it runs, unless the start options pre-approved it. */
  gate?: { id: string; prompt: string };
  /** The equivalent manual command (az / kubectl), shown in plans and status. */
  command?: string;
  /** Evaluated when the step's turn comes; `false` marks it skipped. */
  when?: () => boolean;
  /** What the step does, as data known before it runs: plans read it, the engine does not. */
  effect?: StepEffect;
  run(ctx: StepContext): Promise<void>;
}

/**
 * A step's effect on the cluster, its keys and its vault. `planProcedure` prices and explains a procedure from
 * these (ARM operations, re-encryptions, AKS's key slots after it), never from step ids. A step without one
 * changes nothing a plan counts (a preflight, a guard, the canary).
 */
export interface StepEffect {
  /** An ARM operation on the cluster: a KMS update or an upgrade hop, priced at the pace measured for its kind. */
  clusterOperation?: OperationKind;
  /** AKS's key slots: the key set as current (the current one becomes previous), or KMS off (the slots stay). */
  keySlot?: { set: string } | 'kms-off';
  /**
   * Re-encrypts and verifies every Secret: after a KMS change (it first waits for the change to propagate), or
   * under the key already in use (`baseline`: no wait, and only when kmsflow holds no proof under that key).
   */
  reencrypts?: 'after-change' | 'baseline';
  /** Sets the key vault's public network access. */
  vaultPublicAccess?: 'Enabled' | 'Disabled';
  /** Creates a new version of the key. */
  createsKeyVersion?: true;
  /** Disables or expires a key version (never deletes it). */
  retiresKey?: 'disable' | 'expire';
}

export interface ProcedureOptions {
  procedure: string;
  cluster: string;
  /** Gates approved at start: a list of gate ids, or 'all'. */
  autoApprove?: string[] | 'all';
  /** Who started the procedure; recorded on auto-approvals. */
  requestedBy?: string;
}

export interface ProcedureResult {
  outcome: 'completed' | 'cancelled';
  progress: ProcedureProgress;
}

const now = () => new Date().toISOString();

/**
 * Runs the steps in order. `steps` may be a function: it is called once the handlers are registered, so
 * a procedure can read what its step list depends on while `progress` already answers.
 */
export async function runProcedure(
  options: ProcedureOptions,
  stepsOrBuilder: StepDefinition[] | (() => Promise<StepDefinition[]>),
): Promise<ProcedureResult> {
  const { workflowId, parent } = workflowInfo();
  const progress: ProcedureProgress = {
    procedure: options.procedure,
    cluster: options.cluster,
    phase: 'running',
    paused: false,
    steps: [],
    approvals: [],
    startedAt: now(),
  };
  let retryRequested = false;
  let cancelReason: string | undefined;
  let runningScope: CancellationScope | undefined;
  let controlTargets: ChildWorkflowHandle<Workflow>[] = [];
  // A signal to a child that has just closed fails; there is nothing left to pause then.
  const forward = (signal: typeof pauseSignal, request: OperatorRequest) => {
    for (const target of controlTargets) target.signal(signal, request).catch(() => undefined);
  };
  let published = { phase: '', step: '' };

  const stepState = (id: string) => progress.steps.find((s) => s.id === id) as StepState;
  const current = () => (progress.currentStep ? stepState(progress.currentStep) : undefined);

  const publish = (phase: Phase = progress.phase) => {
    progress.phase = phase;
    setCurrentDetails(renderCurrentDetails(progress, workflowId));
    const step = progress.currentStep ?? '';
    if (published.phase === phase && published.step === step) return;
    upsertSearchAttributes([
      { key: ClusterAttribute, value: options.cluster },
      { key: ProcedureAttribute, value: options.procedure },
      { key: PhaseAttribute, value: phase },
      { key: StepAttribute, value: step },
    ]);
    // A campaign that started this procedure learns of a block or a gate at once (a blocked procedure does not end).
    if (parent && published.phase !== phase)
      getExternalWorkflowHandle(parent.workflowId)
        .signal(procedurePhaseSignal, { workflowId, phase, step })
        .catch(() => undefined);
    published = { phase, step };
  };

  setHandler(progressQuery, () => progress);
  setHandler(pauseSignal, (request) => {
    progress.paused = true;
    forward(pauseSignal, request);
    publish();
  });
  setHandler(resumeSignal, (request) => {
    progress.paused = false;
    forward(resumeSignal, request);
    publish();
  });
  setHandler(
    approveUpdate,
    ({ gate, approver, comment }) => {
      const approval: Approval = { gate, approver, comment, at: now(), auto: false };
      progress.approvals.push(approval);
      return approval;
    },
    {
      validator: ({ gate, approver }) => {
        if (typeof approver !== 'string' || approver.trim() === '')
          throw new Error('approver is required: say who approves.');
        const waiting = current();
        if (progress.phase !== 'waiting-approval' || !waiting?.gate) {
          throw new Error(`no gate is waiting for approval (phase: ${progress.phase}).`);
        }
        if (gate !== waiting.gate.id) {
          throw new Error(
            `gate "${gate}" is not the one waiting; the procedure waits at gate "${waiting.gate.id}".`,
          );
        }
      },
      description: 'Approve the gate the procedure waits at.',
    },
  );
  setHandler(
    retryUpdate,
    (_request) => {
      retryRequested = true;
      const step = current() as StepState;
      return { step: step.id, attempt: step.attempts + 1 };
    },
    {
      validator: (_request) => {
        if (progress.phase !== 'blocked')
          throw new Error(`nothing to retry: the procedure is ${progress.phase}, not blocked.`);
      },
      description: 'Run the blocked step again after its cause was fixed.',
    },
  );
  setHandler(
    cancelUpdate,
    async ({ reason }) => {
      cancelReason = reason;
      runningScope?.cancel();
      // The scope's cancel reaches a child's first run only: one that continued as new (every re-encryption
      // does, every few pages) would run on to its end. A cancel by workflow id reaches the run that is current.
      if (patched(CANCEL_CHILDREN_BY_ID_PATCH)) {
        await Promise.all(
          controlTargets.map((child) =>
            getExternalWorkflowHandle(child.workflowId)
              .cancel()
              .catch(() => undefined),
          ),
        );
      }
      return { cancelled: true };
    },
    {
      validator: ({ reason }) => {
        if (typeof reason !== 'string' || reason.trim() === '')
          throw new Error('a reason is required to cancel.');
        if (progress.phase === 'completed' || progress.phase === 'cancelled') {
          throw new Error(`the procedure is already ${progress.phase}.`);
        }
      },
      description: 'Stop the procedure after or during its current step.',
    },
  );

  const cancelled = () => cancelReason !== undefined;
  const waitWhilePaused = async () => {
    if (!progress.paused) return;
    const before = progress.phase;
    publish('paused');
    await condition(() => !progress.paused || cancelled());
    if (!cancelled()) publish(before === 'paused' ? 'running' : before);
  };
  const isApproved = (gate: string) =>
    options.autoApprove === 'all' ||
    (options.autoApprove ?? []).includes(gate) ||
    progress.approvals.some((a) => a.gate === gate);

  const steps = Array.isArray(stepsOrBuilder) ? stepsOrBuilder : await stepsOrBuilder();
  assertUniqueIds(steps);
  progress.steps = steps.map((s) => ({
    id: s.id,
    title: s.title,
    status: 'pending',
    attempts: 0,
    gate: s.gate,
    command: s.command,
  }));

  try {
    publish('running');
    for (const step of steps) {
      const state = stepState(step.id);
      await waitWhilePaused();
      if (cancelled()) break;
      progress.currentStep = step.id;
      if (step.when && !step.when()) {
        state.status = 'skipped';
        publish();
        continue;
      }
      if (step.gate && !isApproved(step.gate.id)) {
        state.status = 'waiting-approval';
        publish('waiting-approval');
        await condition(() => isApproved(step.gate!.id) || cancelled());
        if (cancelled()) break;
      } else if (step.gate && !progress.approvals.some((a) => a.gate === step.gate!.id)) {
        progress.approvals.push({
          gate: step.gate.id,
          approver: options.requestedBy ?? 'start option',
          at: now(),
          auto: true,
        });
      }
      await runStep(step, state);
      if (cancelled()) break;
    }
  } catch (err) {
    if (isCancellation(err)) {
      // The workflow itself was cancelled (e.g. `temporal workflow cancel`): record it, then let Temporal close the run.
      markCancelled('workflow cancellation requested');
    }
    throw err;
  }

  if (cancelled()) markCancelled(cancelReason as string);
  else {
    progress.currentStep = undefined;
    progress.endedAt = now();
    publish('completed');
  }
  await condition(allHandlersFinished);
  return { outcome: cancelled() ? 'cancelled' : 'completed', progress };

  function markCancelled(reason: string) {
    const step = current();
    if (step && step.status !== 'done' && step.status !== 'skipped') {
      step.status = 'cancelled';
      step.endedAt = now();
      step.detail = `cancelled: ${reason}`;
    }
    progress.endedAt = now();
    publish('cancelled');
  }

  async function runStep(step: StepDefinition, state: StepState): Promise<void> {
    for (;;) {
      state.status = 'running';
      state.attempts += 1;
      state.startedAt = now();
      state.blocked = undefined;
      publish('running');
      const startedMs = Date.now();
      let activeSinceMs: number | undefined;
      const ctx: StepContext = {
        attempt: state.attempts,
        reportProgress: ({ active = true, ...p }) => {
          // A first active report with work already done counts from the step's start.
          if (active) activeSinceMs ??= p.done === 0 ? Date.now() : startedMs;
          const seconds = activeSinceMs === undefined ? 0 : (Date.now() - activeSinceMs) / 1000;
          state.progress = { ...p, rate: seconds > 0 ? p.done / seconds : undefined };
          publish();
        },
        setDetail: (detail) => {
          state.detail = detail;
          publish();
        },
        checkpoint: waitWhilePaused,
        forwardControlTo: (child) => {
          controlTargets.push(child);
          if (progress.paused) child.signal(pauseSignal, {}).catch(() => undefined);
        },
      };
      try {
        runningScope = new CancellationScope();
        await runningScope.run(() => step.run(ctx));
        state.status = 'done';
        state.endedAt = now();
        publish();
        return;
      } catch (err) {
        if (cancelled() && isCancellation(err)) return;
        if (!isStepFailure(err) || isCancellation(err)) throw err;
        state.status = 'blocked';
        state.blocked = blockedReasonOf(err);
        publish('blocked');
        await condition(() => retryRequested || cancelled());
        retryRequested = false;
        if (cancelled()) return;
      } finally {
        runningScope = undefined;
        controlTargets = [];
      }
    }
  }
}

function assertUniqueIds(steps: StepDefinition[]): void {
  const seen = new Set<string>();
  for (const step of steps) {
    if (seen.has(step.id)) throw new Error(`duplicate step id "${step.id}"`);
    seen.add(step.id);
  }
}
