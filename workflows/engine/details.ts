import type { ProcedureProgress, StepState, StepStatus } from '../messages';

/** One mark per step status: the Web UI's table and the CLI's views use the same ones. */
export const STEP_MARKS: Record<StepStatus, string> = {
  pending: '·',
  running: '▶',
  'waiting-approval': '⏸',
  blocked: '✖',
  done: '✔',
  skipped: '↷',
  cancelled: '■',
};

function progressText(step: StepState): string {
  const p = step.progress;
  if (!p) return '';
  const total = p.total !== undefined ? ` / ${p.total}` : '';
  const rate = p.rate !== undefined ? ` (${Math.round(p.rate)} ${p.unit}/s)` : '';
  return `${p.done}${total} ${p.unit}${rate}`;
}

/** What a procedure waits for from its operator: the Web UI's details and the CLI's status both show it. */
export interface WaitingFor {
  kind: 'approval' | 'blocked' | 'paused';
  step: string | null;
  gate: string | null;
  /** One sentence: what the procedure waits for. */
  message: string;
  code: string | null;
  fix: string | null;
  /** The kmsflow command that lets it go on, ready to paste. */
  command: string;
}

/** A word as the shell reads it, so printed commands can be pasted as they are. */
export function shellWord(text: string): string {
  return /^[\w.:@/+=,-]+$/.test(text) ? text : `'${text.replace(/'/g, `'\\''`)}'`;
}

/** What the operator must do, if anything, for the procedure to go on. */
export function waitingFor(progress: ProcedureProgress, workflowId: string): WaitingFor | null {
  const step = progress.steps.find((s) => s.id === progress.currentStep);
  const id = shellWord(workflowId);
  if (progress.phase === 'waiting-approval' && step?.gate) {
    return {
      kind: 'approval',
      step: step.id,
      gate: step.gate.id,
      message: `approval of gate "${step.gate.id}": ${step.gate.prompt}`,
      code: null,
      fix: null,
      command: `kmsflow approve ${id} ${shellWord(step.gate.id)}`,
    };
  }
  if (progress.phase === 'blocked' && step?.blocked) {
    return {
      kind: 'blocked',
      step: step.id,
      gate: null,
      message: `a fix: step "${step.id}" is blocked: ${step.blocked.message}${step.blocked.code ? ` (${step.blocked.code})` : ''}.`,
      code: step.blocked.code ?? null,
      fix: step.blocked.fix ?? null,
      command: `kmsflow retry ${id}`,
    };
  }
  if (progress.phase === 'paused') {
    return {
      kind: 'paused',
      step: progress.currentStep ?? null,
      gate: null,
      message: 'a resume: the procedure is paused.',
      code: null,
      fix: null,
      command: `kmsflow resume ${id}`,
    };
  }
  return null;
}

/** The markdown the Temporal Web UI shows as the run's current details. */
export function renderCurrentDetails(progress: ProcedureProgress, workflowId: string): string {
  const index = progress.steps.findIndex((s) => s.id === progress.currentStep);
  const current = index >= 0 ? progress.steps[index] : undefined;
  const pausing =
    progress.paused && progress.phase !== 'paused'
      ? ' (pause requested: stops after the current unit of work)'
      : '';
  const lines = [`**${progress.procedure}** on \`${progress.cluster}\` — **${progress.phase}**${pausing}`];
  if (current) {
    const detail = current.detail ? ` — ${current.detail}` : '';
    lines.push(
      `Step ${index + 1} of ${progress.steps.length}: ${current.title} ${progressText(current)}${detail}`.trimEnd(),
    );
  }
  const waiting = waitingFor(progress, workflowId);
  if (waiting)
    lines.push(
      `Waiting for ${waiting.message}${waiting.fix ? ` Fix: ${waiting.fix}` : ''} Run \`${waiting.command}\`.`,
    );
  const table = ['| | Step | Status | Progress |', '|---|---|---|---|'];
  for (const step of progress.steps) {
    table.push(`| ${STEP_MARKS[step.status]} | ${step.title} | ${step.status} | ${progressText(step)} |`);
  }
  return [...lines, table.join('\n')].join('\n\n');
}
