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

/** What the operator must do, if anything, for the procedure to go on. */
export function waitingFor(progress: ProcedureProgress, workflowId: string): string | undefined {
  const step = progress.steps.find((s) => s.id === progress.currentStep);
  if (progress.phase === 'waiting-approval' && step?.gate) {
    return `approval of gate \`${step.gate.id}\`: ${step.gate.prompt} Run \`kmsflow approve ${workflowId} ${step.gate.id}\`.`;
  }
  if (progress.phase === 'blocked' && step?.blocked) {
    const fix = step.blocked.fix ? ` Fix: ${step.blocked.fix}` : '';
    const code = step.blocked.code ? ` (${step.blocked.code})` : '';
    return `a fix, then \`kmsflow retry ${workflowId}\`. ${step.blocked.message}${code}.${fix}`;
  }
  if (progress.phase === 'paused') return `\`kmsflow resume ${workflowId}\`.`;
  return undefined;
}

/** The markdown the Temporal Web UI shows as the run's current details. */
export function renderCurrentDetails(progress: ProcedureProgress, workflowId: string): string {
  const index = progress.steps.findIndex((s) => s.id === progress.currentStep);
  const current = index >= 0 ? progress.steps[index] : undefined;
  const pausing = progress.paused && progress.phase !== 'paused' ? ' (pause requested: stops after the current unit of work)' : '';
  const lines = [`**${progress.procedure}** on \`${progress.cluster}\` — **${progress.phase}**${pausing}`];
  if (current) {
    const detail = current.detail ? ` — ${current.detail}` : '';
    lines.push(`Step ${index + 1} of ${progress.steps.length}: ${current.title} ${progressText(current)}${detail}`.trimEnd());
  }
  const waiting = waitingFor(progress, workflowId);
  if (waiting) lines.push(`Waiting for ${waiting}`);
  const table = ['| | Step | Status | Progress |', '|---|---|---|---|'];
  for (const step of progress.steps) {
    table.push(`| ${STEP_MARKS[step.status]} | ${step.title} | ${step.status} | ${progressText(step)} |`);
  }
  return [...lines, table.join('\n')].join('\n\n');
}
