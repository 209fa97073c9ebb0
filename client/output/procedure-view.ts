/** Human renderings of a procedure: the `status` page, the live `watch` frame, `watch`'s change lines, tables. */
import { STEP_MARKS } from '../../workflows/engine/details';
import type { StepStatus } from '../../workflows/messages';
import { fitToWidth, formatDuration, formatRate, formatTime, progressBar, table } from './format';
import type {
  PendingActivityView,
  ProcedureRow,
  ProcedureSnapshot,
  StepProgressView,
  StepView,
  WaitingFor,
} from './shapes';
import type { Style } from './style';

function markOf(status: StepStatus, style: Style): string {
  const mark = STEP_MARKS[status];
  switch (status) {
    case 'done':
      return style.green(mark);
    case 'running':
      return style.cyan(mark);
    case 'waiting-approval':
      return style.yellow(mark);
    case 'blocked':
    case 'cancelled':
      return style.red(mark);
    default:
      return style.dim(mark);
  }
}

/** `20 / 30 items · 15 items/s · ETA 1s` */
export function progressText(p: StepProgressView): string {
  const parts = [`${p.done}${p.total !== null ? ` / ${p.total}` : ''} ${p.unit}`];
  if (p.rate !== null) parts.push(`${formatRate(p.rate)} ${p.unit}/s`);
  if (p.etaSeconds !== null) parts.push(`ETA ${formatDuration(p.etaSeconds)}`);
  return parts.join(' · ');
}

function stepNote(step: StepView, style: Style): string {
  const attempt = step.attempts > 1 ? ` (attempt ${step.attempts})` : '';
  switch (step.status) {
    case 'running':
      return [step.progress ? progressText(step.progress) : (step.detail ?? ''), attempt].join('').trim();
    case 'waiting-approval':
      return style.yellow(`waiting for approval (gate ${step.gate?.id ?? '?'})`);
    case 'blocked':
      return style.red(
        `blocked${attempt}: ${step.blocked?.message ?? 'see status'}${step.blocked?.code ? ` (${step.blocked.code})` : ''}`,
      );
    case 'skipped':
      return style.dim('skipped');
    case 'cancelled':
      return style.red(step.detail ?? 'cancelled');
    case 'done': {
      const took =
        step.startedAt && step.endedAt
          ? (Date.parse(step.endedAt) - Date.parse(step.startedAt)) / 1000
          : undefined;
      const parts = [
        step.progress ? progressText({ ...step.progress, etaSeconds: null }) : '',
        took !== undefined ? formatDuration(took) : '',
      ];
      return style.dim(parts.filter(Boolean).join(' · ') + attempt);
    }
    default:
      return '';
  }
}

export function renderSteps(snapshot: ProcedureSnapshot, style: Style): string[] {
  if (snapshot.steps.length === 0) return [];
  const rows = snapshot.steps.map((step) => {
    const title = step.id === snapshot.currentStep ? style.bold(step.title) : step.title;
    return [`${markOf(step.status, style)} ${step.number}`, title, stepNote(step, style)];
  });
  return table(['', '', ''], rows)
    .slice(1)
    .map((line) => `  ${line}`);
}

/** The headline state in a few words: `running step 3/5`, `waiting for approval`, `failed`. */
export function stateWords(snapshot: ProcedureSnapshot): string {
  if (snapshot.status !== 'running') return snapshot.status;
  switch (snapshot.phase) {
    case 'waiting-approval':
      return 'waiting for approval';
    case 'blocked':
      return 'blocked';
    case 'paused':
      return 'paused';
    default: {
      const step = snapshot.steps.find((s) => s.id === snapshot.currentStep);
      return step ? `running step ${step.number}/${snapshot.steps.length}` : 'running';
    }
  }
}

function colouredState(snapshot: ProcedureSnapshot, style: Style): string {
  const words = stateWords(snapshot);
  if (snapshot.exitCode === 3) return style.yellow(words);
  if (snapshot.exitCode === 4) return style.red(words);
  if (snapshot.status === 'completed') return style.green(words);
  return style.cyan(words);
}

export function renderWaiting(waiting: WaitingFor, style: Style): string[] {
  const lines = [`${style.yellow('Waiting for')} ${waiting.message}`];
  if (waiting.fix) lines.push(`  Fix: ${waiting.fix}`);
  lines.push(`  Run: ${style.bold(waiting.command)}`);
  return lines;
}

function headline(snapshot: ProcedureSnapshot, style: Style): string {
  const what = snapshot.procedure
    ? `${style.bold(snapshot.procedure)} on ${snapshot.cluster ?? '?'}`
    : style.bold(snapshot.workflowId);
  return `${what}: ${colouredState(snapshot, style)}`;
}

function elapsed(snapshot: ProcedureSnapshot, now: Date): string {
  const end = snapshot.endedAt ? Date.parse(snapshot.endedAt) : now.getTime();
  return formatDuration((end - Date.parse(snapshot.startedAt)) / 1000);
}

function activityLine(a: PendingActivityView, style: Style): string {
  const parts = [`${a.type}, attempt ${a.attempt}`];
  if (a.armState) parts.push(`ARM reports the cluster ${a.armState}`);
  if (a.lastFailure) parts.push(style.yellow(`retrying after: ${a.lastFailure}`));
  if (a.nextAttemptAt) parts.push(`next attempt ${formatTime(a.nextAttemptAt)}`);
  return style.dim(`Now: ${parts.join(' · ')}`);
}

export function renderStatus(snapshot: ProcedureSnapshot, style: Style, now = new Date()): string[] {
  const lines = [headline(snapshot, style)];
  lines.push(`  workflow  ${snapshot.workflowId}  ${style.dim(`run ${snapshot.runId}`)}`);
  const phase = snapshot.phase ? `, phase ${snapshot.phase}` : '';
  lines.push(`  Temporal  ${snapshot.executionStatus.toLowerCase()}${phase}`);
  const ended = snapshot.endedAt ? `, ended ${formatTime(snapshot.endedAt)}` : '';
  lines.push(`  started   ${formatTime(snapshot.startedAt)}${ended} (${elapsed(snapshot, now)})`);
  const v = snapshot.workerVersion;
  if (v) lines.push(`  worker    ${v.deploymentName}/${v.buildId}${v.behavior ? ` (${v.behavior})` : ''}`);
  if (snapshot.failure) lines.push(`  ${style.red('failure')}   ${snapshot.failure}`);
  const steps = renderSteps(snapshot, style);
  if (steps.length > 0) lines.push('', ...steps);
  const current = snapshot.steps.find((s) => s.id === snapshot.currentStep);
  if (current?.command && snapshot.status === 'running') {
    lines.push(
      '',
      style.dim(`Step ${current.number} does what this manual command does: ${current.command}`),
    );
  }
  if (snapshot.activity) lines.push(activityLine(snapshot.activity, style));
  if (snapshot.note) lines.push('', style.dim(snapshot.note));
  if (snapshot.approvals.length > 0) {
    lines.push('', 'Approvals:');
    for (const a of snapshot.approvals) {
      const comment = a.comment ? ` "${a.comment}"` : '';
      lines.push(
        `  ${a.gate}: ${a.auto ? 'pre-approved' : 'approved'} by ${a.approver} at ${formatTime(a.at)}${comment}`,
      );
    }
  }
  if (snapshot.waitingFor) lines.push('', ...renderWaiting(snapshot.waitingFor, style));
  return lines;
}

/** The live `watch` view: the same page plus a progress bar for the running step. */
export function renderLiveFrame(
  snapshot: ProcedureSnapshot,
  style: Style,
  columns: number,
  { final = false, now = new Date() }: { final?: boolean; now?: Date } = {},
): string[] {
  const lines = [
    `${headline(snapshot, style)}  ${style.dim(`${snapshot.workflowId} · ${elapsed(snapshot, now)}`)}`,
    '',
  ];
  lines.push(...renderSteps(snapshot, style));
  const current = snapshot.steps.find((s) => s.id === snapshot.currentStep);
  if (current?.status === 'running' && current.progress) {
    lines.push(
      '',
      `  ${style.cyan(progressBar(current.progress.done, current.progress.total))} ${progressText(current.progress)}`,
    );
  }
  if (snapshot.note) lines.push('', style.dim(snapshot.note));
  if (snapshot.waitingFor) lines.push('', ...renderWaiting(snapshot.waitingFor, style));
  if (!final) lines.push('', style.dim('Ctrl-C stops watching; the procedure keeps running.'));
  return lines.map((line) => fitToWidth(line, columns));
}

function stepLabel(step: StepView, total: number): string {
  return `step ${step.number}/${total} ${step.id}`;
}

function changeLine(step: StepView, total: number): string {
  const base = `${stepLabel(step, total)}: ${step.status}`;
  if (step.status === 'blocked' && step.blocked)
    return `${base}: ${step.blocked.message}${step.blocked.code ? ` (${step.blocked.code})` : ''}`;
  if (step.status === 'cancelled' && step.detail) return `${base} (${step.detail})`;
  if (step.status === 'running') {
    const notes = [
      step.progress ? progressText(step.progress) : '',
      step.attempts > 1 ? `attempt ${step.attempts}` : '',
    ].filter(Boolean);
    return notes.length > 0 ? `${base} (${notes.join(', ')})` : base;
  }
  if (step.status === 'done' && step.progress) return `${base} (${step.progress.done} ${step.progress.unit})`;
  return base;
}

/** One line per change between two polls of a procedure, for logs and pipes. */
export function describeChanges(previous: ProcedureSnapshot | undefined, next: ProcedureSnapshot): string[] {
  const lines: string[] = [];
  const total = next.steps.length;
  if (!previous) {
    lines.push(
      `${next.workflowId}: ${next.procedure ?? next.workflowType} on ${next.cluster ?? '?'}, ${stateWords(next)}`,
    );
  }
  for (const step of next.steps) {
    const before = previous?.steps.find((s) => s.id === step.id);
    const changed = before
      ? before.status !== step.status || before.attempts !== step.attempts
      : step.status !== 'pending';
    if (changed) {
      lines.push(changeLine(step, total));
    } else if (step.status === 'running' && step.progress && before?.progress?.done !== step.progress.done) {
      lines.push(`${stepLabel(step, total)}: ${progressText(step.progress)}`);
    }
  }
  if (previous && previous.phase !== next.phase && next.phase && next.status === 'running')
    lines.push(`phase: ${next.phase}`);
  const waitingKey = (s: ProcedureSnapshot | undefined) =>
    s?.waitingFor ? `${s.waitingFor.kind}:${s.waitingFor.step}:${s.waitingFor.command}` : '';
  if (next.waitingFor && waitingKey(previous) !== waitingKey(next)) {
    lines.push(`waiting for ${next.waitingFor.message} Run: ${next.waitingFor.command}`);
  }
  if (next.status !== 'running' && previous?.status !== next.status) {
    const why = next.failure ? `: ${next.failure}` : '';
    lines.push(`${next.workflowId} ${next.status}${why}`);
  }
  return lines;
}

export function renderProcedureTable(rows: ProcedureRow[], style: Style): string[] {
  if (rows.length === 0) return [style.dim('No kmsflow procedures match.')];
  return table(
    ['WORKFLOW ID', 'RUN', 'PROCEDURE', 'CLUSTER', 'PHASE', 'STEP', 'STATUS', 'PROOF', 'VERSION', 'STARTED'],
    rows.map((r) => [
      r.workflowId,
      r.firstRunId,
      r.procedure ?? '',
      r.cluster ?? '',
      r.phase ?? '',
      r.step ?? '',
      r.status,
      r.proof ?? '-',
      r.workerVersion?.buildId ?? '-',
      formatTime(r.startedAt),
    ]),
  );
}
