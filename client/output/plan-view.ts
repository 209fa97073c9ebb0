/** Human renderings of `plan` and `start`. */
import { formatDuration } from './format';
import type { FindingView, KeySlotsView, PlanResult, StartResult } from './shapes';
import type { Style } from './style';

export function findingLine(f: FindingView, style: Style): string[] {
  const label =
    f.severity === 'error'
      ? style.red('error  ')
      : f.severity === 'warning'
        ? style.yellow('warning')
        : style.dim('info   ');
  const lines = [`  ${label} ${f.message} ${style.dim(`(${f.code})`)}`];
  if (f.fix) lines.push(`          Fix: ${f.fix}`);
  return lines;
}

/** A key id as `vault/key/version` (the version cut to 8 characters); placeholders stay as they are. */
export function shortKey(keyId: string | null | undefined): string {
  if (!keyId) return '-';
  const m = /^https:\/\/([^./]+)[^/]*\/keys\/([^/]+)\/([^/]+)$/i.exec(keyId);
  return m ? `${m[1]}/${m[2]}/${(m[3] ?? '').slice(0, 8)}` : keyId;
}

function slotsLine(slots: KeySlotsView): string {
  return `current ${shortKey(slots.current)}, previous ${shortKey(slots.previous)}`;
}

const ARM_BASIS: Record<PlanResult['estimate']['armBasis'], string> = {
  cluster: 'as measured on this cluster',
  subscription: "as measured on this subscription's clusters",
  default: "AKS's typical pace: kmsflow has measured no operation here yet",
};

function estimateLines(plan: PlanResult): string[] {
  const e = plan.estimate;
  const ops = (['kms', 'upgrade'] as const)
    .filter((k) => e.armOperations[k] > 0)
    .map(
      (k) =>
        `${e.armOperations[k]} ${k === 'kms' ? 'KMS update' : 'upgrade'}${e.armOperations[k] > 1 ? 's' : ''} × ${formatDuration(e.armSecondsEach[k])}`,
    );
  return [
    `ARM operations ${formatDuration(e.armSeconds)}${ops.length ? `: ${ops.join(', ')} (${ARM_BASIS[e.armBasis]})` : ''}`,
    `propagation waits ${formatDuration(e.waitSeconds)}: ${e.propagationWaits} × ${formatDuration(e.propagationWaitSeconds)} (--propagation-wait)`,
    `re-encryption ${formatDuration(e.reencryptSeconds)}: ${e.reencryptions} × ${plan.secretsInScope ?? 0} Secrets at ${plan.secretsPerSecond} Secrets/s (${e.rateBasis === 'measured' ? "this cluster's last proof" : 'default'})`,
  ];
}

export function renderPlan(plan: PlanResult, style: Style): string[] {
  const kms = plan.kms.enabled
    ? `KMS on (${plan.kms.networkAccess ?? '?'}) with ${shortKey(plan.kms.keyId)}`
    : 'KMS off';
  const lines = [
    `${style.bold(`Plan: ${plan.procedure}`)} on ${plan.cluster} (Kubernetes ${plan.kubernetesVersion}, ${kms})`,
    `  ${plan.clusterId}`,
    '',
  ];
  const errors = plan.findings.filter((f) => f.severity === 'error').length;
  const warnings = plan.findings.filter((f) => f.severity === 'warning').length;
  const verdict = plan.ok ? style.green('passes') : style.red(`found ${errors} error(s)`);
  lines.push(`Preflight ${verdict}${warnings ? `, ${warnings} warning(s)` : ''}:`);
  if (plan.findings.length === 0) lines.push(`  ${style.dim('no findings')}`);
  for (const f of plan.findings) lines.push(...findingLine(f, style));
  lines.push('', 'Steps:');
  for (const step of plan.steps) {
    const gate = step.gate ? style.yellow(`  [gate ${step.gate.id}: waits for approval]`) : '';
    lines.push(`  ${String(step.number).padStart(2)}. ${step.title}${gate}`);
    if (step.command) lines.push(`      ${style.dim(`$ ${step.command}`)}`);
  }
  lines.push('');
  lines.push(`Secrets in scope:   ${plan.secretsInScope ?? 'unknown'}`);
  lines.push(`Estimated duration: about ${formatDuration(plan.estimatedSeconds)}`);
  lines.push(...estimateLines(plan).map((l) => `  ${style.dim(l)}`));
  lines.push(`Key slots before:   ${slotsLine(plan.slots.before)}`);
  lines.push(`Key slots after:    ${slotsLine(plan.slots.after)}`);
  lines.push('');
  lines.push(
    plan.ok
      ? style.dim('Nothing was changed. Start it with the same arguments: kmsflow start …')
      : style.red('Nothing was changed. Fix the errors above, then plan again.'),
  );
  return lines;
}

export function renderStart(result: StartResult, style: Style): string[] {
  const lines = [
    `${style.green('Started')} ${style.bold(result.procedure)} on ${result.cluster} as ${result.requestedBy}`,
  ];
  lines.push(`  workflow  ${result.workflowId}  ${style.dim(`run ${result.runId}`)}`);
  if (result.uiUrl) lines.push(`  Web UI    ${result.uiUrl}`);
  if (!result.workerSeen) {
    lines.push(
      '',
      style.yellow(
        `No worker polled task queue "${result.taskQueue}" recently: the procedure waits until \`kmsflow worker\` runs.`,
      ),
    );
  }
  lines.push('', 'Next:');
  for (const command of result.next) lines.push(`  ${command}`);
  return lines;
}
