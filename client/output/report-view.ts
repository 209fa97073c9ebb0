/** Human rendering of `report`: the re-encryption evidence of a procedure. */
import { formatDuration, formatTime, table } from './format';
import { shortKey } from './plan-view';
import type { PassView, ReencryptionView, ReportResult } from './shapes';
import type { Style } from './style';

const OUTCOMES = [
  'rewritten',
  'alreadyCurrent',
  'newerThanWatermark',
  'rewrittenByOther',
  'gone',
  'failed',
  'stale',
] as const;
const MAX_FAILURES_SHOWN = 10;

function passRow(name: string, pass: PassView): string[] {
  return [
    name,
    String(pass.objects),
    ...OUTCOMES.map((o) => String(pass.counts[o] ?? 0)),
    String(pass.pages),
    String(pass.expiredListings),
    String(pass.throttled),
  ];
}

function expectedWords(expected: string): string {
  if (expected === 'identity') return 'identity (unencrypted)';
  if (expected === '?') return 'the new key (in progress)';
  return shortKey(expected);
}

function reencryptionLines(view: ReencryptionView, index: number, style: Style): string[] {
  const label = view.step ? `${index + 1}. ${view.step}` : `${index + 1}.`;
  const verdict =
    view.state === 'running'
      ? style.cyan('RUNNING')
      : view.proven
        ? style.green('PROVEN')
        : style.red('NOT PROVEN');
  const lines = [`${style.bold(label)} ${verdict}: every Secret under ${expectedWords(view.expected)}`];
  if (view.workflowId) lines.push(`   ${style.dim(view.workflowId)}`);
  for (const reason of view.notProven) lines.push(`   ${style.red('•')} ${reason}`);
  for (const note of view.notes) lines.push(`   ${style.dim('•')} ${note}`);
  const timing = [
    view.startedAt ? `started ${formatTime(view.startedAt)}` : '',
    view.durationSeconds !== null ? `took ${formatDuration(view.durationSeconds)}` : '',
    view.secretsPerSecond !== null ? `${view.secretsPerSecond} Secrets/s` : '',
  ].filter(Boolean);
  lines.push(`   watermark ${view.watermark ?? 'not yet'}${timing.length ? ` · ${timing.join(' · ')}` : ''}`);
  lines.push(`   digest    ${view.verify.digest} ${style.dim('(verification pass)')}`);
  lines.push(
    ...table(
      ['pass', 'objects', ...OUTCOMES, 'pages', 'expired', 'throttled'],
      [passRow('rewrite', view.rewrite), passRow('verify', view.verify)],
    ).map((l) => `   ${l}`),
  );
  if (view.failures.length > 0) {
    lines.push(`   ${style.red(`${view.failures.length} failure(s)`)}:`);
    for (const f of view.failures.slice(0, MAX_FAILURES_SHOWN))
      lines.push(`     ${f.namespace}/${f.name}: ${f.reason}${f.code ? ` (${f.code})` : ''}`);
    if (view.failures.length > MAX_FAILURES_SHOWN)
      lines.push(`     … and ${view.failures.length - MAX_FAILURES_SHOWN} more (--json lists them)`);
  }
  return lines;
}

export function renderReport(report: ReportResult, style: Style): string[] {
  const what = report.procedure ? `${report.procedure} on ${report.cluster ?? '?'}` : report.workflowId;
  const verdict =
    report.verdict === 'proven'
      ? style.green('proven: every re-encryption verified that no Secret is left under an old key')
      : report.verdict === 'not-proven'
        ? style.red('NOT proven')
        : style.yellow('unknown: no finished re-encryption to judge');
  const lines = [
    `${style.bold(`Re-encryption evidence of ${what}`)} (${report.status})`,
    `  ${report.workflowId}`,
    '',
    `Verdict: ${verdict}`,
  ];
  report.reencryptions.forEach((view, i) => lines.push('', ...reencryptionLines(view, i, style)));
  if (report.note) lines.push('', style.dim(report.note));
  return lines;
}
