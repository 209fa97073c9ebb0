import {
  type CampaignClusterStatus,
  type CampaignProgress,
  FAILURE_STATUSES,
} from '../../workflows/campaign-messages';
import type { CampaignReport } from '../commands/support/campaign-report';
import type { CampaignPlan, PlannedPreflight } from '../../workflows/campaign-plan';
import { formatTime, table } from './format';
import { findingLine } from './plan-view';
import type { Style } from './style';

const SIZE = (s: CampaignPlan['stages'][number]) =>
  s.size === 'rest' ? 'rest' : typeof s.size === 'number' ? String(s.size) : `${s.size.percent}%`;

export function renderCampaignPlan(plan: CampaignPlan, style: Style): string[] {
  const skipped = plan.members.filter((m) => m.skipReason);
  const lines = [
    `Campaign plan: ${plan.procedure} on ${plan.members.length - skipped.length} cluster(s), ${skipped.length} skipped`,
    '',
  ];
  lines.push(
    ...table(
      ['STAGE', 'SIZE', 'CLUSTERS', 'AT ONCE', 'SOAK', 'APPROVAL'],
      plan.stages.map((s) => [
        s.name,
        SIZE(s),
        String(s.clusters),
        String(s.concurrency),
        s.soakSeconds ? `${s.soakSeconds}s` : '-',
        s.approval ? 'before it' : '-',
      ]),
    ),
    '',
  );
  const checked = plan.members.some((m) => m.preflight);
  lines.push(
    ...table(
      ['CLUSTER', 'STAGE', ...(checked ? ['PREFLIGHT'] : []), 'RESOURCE ID'],
      plan.members.map((m) => [
        m.name,
        m.stage ?? style.yellow(`skipped: ${m.skipReason}`),
        ...(checked ? [preflightCell(m.preflight, style)] : []),
        m.clusterId,
      ]),
    ),
  );
  const refused = plan.members.filter((m) => m.preflight && !m.preflight.ok);
  for (const m of refused) {
    lines.push('', style.red(`${m.name}: its preflight would refuse ${plan.procedure}:`));
    for (const e of m.preflight!.errors)
      lines.push(...findingLine({ severity: 'error', ...e, fix: e.fix ?? null }, style));
  }
  const notes = [...new Set(plan.members.flatMap((m) => (m.preflight?.note ? [m.preflight.note] : [])))];
  if (notes.length) lines.push('', ...notes.map((n) => `Preflight: ${n}.`));
  return lines;
}

function preflightCell(preflight: PlannedPreflight | undefined, style: Style): string {
  if (!preflight) return '-';
  const warnings = preflight.warnings ? `, ${preflight.warnings} warning(s)` : '';
  return preflight.ok
    ? style.green(`ok${warnings}`)
    : style.red(`${preflight.errors.length} error(s): ${preflight.errors.map((e) => e.code).join(', ')}`);
}

export function renderCampaign(p: CampaignProgress, style: Style): string[] {
  const counts = new Map<string, number>();
  for (const c of p.clusters) counts.set(c.status, (counts.get(c.status) ?? 0) + 1);
  const lines = [
    `Campaign ${p.campaignId}: ${p.procedure}, ${p.phase}${p.paused ? ' (paused: no new clusters start)' : ''}${p.stage ? `, stage ${p.stage}` : ''}`,
    `  clusters  ${p.clusters.length}: ${[...counts.entries()].map(([s, n]) => `${s} ${n}`).join(', ') || 'not selected yet'}`,
    `  budget    ${p.budget.failures} of ${p.budget.maxFailures} failure(s) allowed used${p.budget.failures > p.budget.maxFailures ? style.red(' (spent: no new clusters start)') : ''}`,
    `  started   ${formatTime(p.startedAt)}${p.endedAt ? `, ended ${formatTime(p.endedAt)}` : ''}`,
  ];
  if (p.haltReason) lines.push(`  ${style.yellow('stopped')}   ${p.haltReason}`);
  lines.push('');
  lines.push(
    ...table(
      ['STAGE', 'CLUSTERS', 'STATUS'],
      p.stages.map((s) => [
        s.name,
        String(s.clusters),
        s.status +
          (s.status === 'waiting-approval'
            ? ` ${s.gate === 'after' ? 'after its soak' : 'before it starts'}`
            : '') +
          (s.soakUntil && s.status === 'soaking' ? ` until ${formatTime(s.soakUntil)}` : '') +
          (s.status === 'checking' ? ` (${s.checked ?? 0} health-checked)` : '') +
          (s.approvedBy ? ` (approved by ${s.approvedBy})` : '') +
          (s.approvedAfterBy ? ` (approved after its soak by ${s.approvedAfterBy})` : '') +
          (s.skippedBy ? ` (${s.status === 'skipped' ? 'skipped by ' : ''}${s.skippedBy})` : ''),
      ]),
    ),
    '',
  );
  lines.push(
    ...table(
      ['CLUSTER', 'STAGE', 'STATUS', 'WHY'],
      p.clusters.map((c) => [c.name, c.stage ?? '-', colour(c.status, style), c.reason ?? '']),
    ),
  );
  const waiting = p.stages.find((s) => s.status === 'waiting-approval');
  if (waiting)
    lines.push(
      '',
      `Stage ${waiting.name} waits for approval ${waiting.gate === 'after' ? 'after its soak' : 'before it starts'}: kmsflow campaign approve ${p.campaignId} ${waiting.name}`,
    );
  return lines;
}

/** One line for `campaign watch`: phase, stage, counts, budget. */
export function campaignLine(p: CampaignProgress): string {
  const counts = new Map<string, number>();
  for (const c of p.clusters) counts.set(c.status, (counts.get(c.status) ?? 0) + 1);
  const stage = p.stage ? ` stage ${p.stage}` : '';
  return `${p.phase}${p.paused ? ' (paused)' : ''}${stage}: ${[...counts.entries()].map(([s, n]) => `${s} ${n}`).join(', ') || 'selecting'}; budget ${p.budget.failures}/${p.budget.maxFailures}`;
}

export function renderCampaignReport(r: CampaignReport, style: Style): string[] {
  const verdict =
    r.exitCode === 0
      ? style.green('every cluster it ran is proven')
      : r.exitCode === 3
        ? 'still running'
        : style.red('not every cluster is proven');
  const lines = [
    `Campaign ${r.campaignId} (${r.procedure}), ${r.phase}: ${verdict}`,
    `  ${Object.entries(r.counts)
      .map(([s, n]) => `${s} ${n}`)
      .join(', ')}`,
  ];
  if (r.haltReason) lines.push(`  ${r.haltReason}`);
  lines.push('');
  lines.push(
    ...table(
      ['CLUSTER', 'STATUS', 'PROOF', 'KEY', 'WHY'],
      r.clusters.map((c) => [
        c.name,
        colour(c.status, style),
        c.evidence?.verdict ?? '-',
        c.keyId?.split('/').slice(-2).join('/') ?? '-',
        c.reason ?? '',
      ]),
    ),
  );
  lines.push(
    '',
    style.dim(
      "Each cluster's full evidence: kmsflow report <cluster resource id> --run <run id> (both in --json).",
    ),
  );
  return lines;
}

function colour(status: string, style: Style): string {
  if (status === 'proven') return style.green(status);
  if (FAILURE_STATUSES.includes(status as CampaignClusterStatus)) return style.red(status);
  return status;
}
