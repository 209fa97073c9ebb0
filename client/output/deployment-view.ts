import type { DeploymentView } from './shapes';
import { formatTime, table } from './format';
import type { Style } from './style';

/** `kmsflow versions` as text: the table, then what the operator may do with each older version. */
export function renderDeployment(view: DeploymentView | null, style: Style): string[] {
  if (!view) {
    return [
      style.dim(
        'No versioned kmsflow worker has polled this namespace yet: workers started with --versioning off run unversioned, and every procedure runs on whichever worker polls.',
      ),
    ];
  }
  const lines = [
    `Worker deployment ${view.deploymentName}: new procedures start on ${view.current ?? style.yellow('no version (none is current)')}`,
    '',
  ];
  lines.push(
    ...table(
      ['VERSION', 'STATUS', 'RUNNING (PROCEDURES, CAMPAIGNS)', 'WORKERS', 'FIRST SEEN'],
      view.versions.map((v) => [
        v.buildId,
        v.status === 'current' ? style.green(v.status) : v.status,
        String(v.runningProcedures),
        v.workersNeeded ? 'keep running' : style.dim('can stop'),
        formatTime(v.createdAt),
      ]),
    ),
  );
  const draining = view.versions.filter(
    (v) => v.status !== 'current' && v.status !== 'ramping' && v.runningProcedures > 0,
  );
  if (draining.length > 0) {
    lines.push('');
    for (const v of draining) {
      lines.push(
        `${v.buildId}: ${v.runningProcedures} procedure(s) or campaign(s) pinned to it still run; keep a worker of it until this count is 0.`,
      );
    }
  }
  return lines;
}
