/** `kmsflow campaign report`: the campaign's record with each cluster's re-encryption evidence. */
import type { Client } from '@temporalio/client';
import { campaign as campaignWorkflow } from '../../../workflows/campaign';
import {
  type CampaignClusterStatus,
  type CampaignProgress,
  WAITING_STATUSES,
} from '../../../workflows/campaign-messages';
import { CampaignAttribute, procedureWorkflowId, quoteValue } from '../../../workflows/messages';
import { ExitCode } from '../../exit-codes';
import type { ReportResult } from '../../output/shapes';
import { readEvidence } from './evidence';

export interface CampaignReportCluster {
  clusterId: string;
  name: string;
  stage: string | null;
  status: CampaignProgress['clusters'][number]['status'];
  reason: string | null;
  keyId: string | null;
  runId: string | null;
  /** The procedure's evidence (kmsflow report), for every cluster the campaign started. */
  evidence: Pick<ReportResult, 'verdict' | 'reencryptions' | 'note'> | null;
}

export interface CampaignReport {
  campaignId: string;
  procedure: string;
  phase: CampaignProgress['phase'];
  haltReason: string | null;
  startedAt: string;
  endedAt: string | null;
  counts: Record<string, number>;
  clusters: CampaignReportCluster[];
  exitCode: number;
}

/** Clusters whose procedure never started: there is no run to look for. */
const NEVER_STARTED: readonly CampaignClusterStatus[] = [...WAITING_STATUSES, 'not-started', 'skipped'];

/**
 * The latest run of each procedure the campaign started, by workflow id, from Temporal visibility: a
 * campaign that continued as new keeps the run ids of its running clusters only.
 */
async function startedRuns(client: Client, campaignId: string): Promise<Map<string, string>> {
  const latest = new Map<string, { runId: string; startTime: number }>();
  for await (const info of client.workflow.list({
    query: `${CampaignAttribute.name} = ${quoteValue(campaignId)} AND WorkflowType != ${quoteValue(campaignWorkflow.name)}`,
  })) {
    const seen = latest.get(info.workflowId);
    if (!seen || info.startTime.getTime() > seen.startTime)
      latest.set(info.workflowId, { runId: info.runId, startTime: info.startTime.getTime() });
  }
  return new Map([...latest].map(([workflowId, run]) => [workflowId, run.runId]));
}

export async function campaignReport(client: Client, progress: CampaignProgress): Promise<CampaignReport> {
  const runs = progress.clusters.some((c) => !c.runId && !NEVER_STARTED.includes(c.status))
    ? await startedRuns(client, progress.campaignId)
    : new Map<string, string>();
  const clusters: CampaignReportCluster[] = [];
  for (const c of progress.clusters) {
    const workflowId = procedureWorkflowId(c.clusterId);
    const runId = c.runId ?? (NEVER_STARTED.includes(c.status) ? undefined : runs.get(workflowId));
    const evidence = runId ? await readEvidence(client, workflowId, runId) : null;
    clusters.push({
      clusterId: c.clusterId,
      name: c.name,
      stage: c.stage,
      status: c.status,
      reason: c.reason ?? null,
      keyId: c.keyId ?? null,
      runId: runId ?? null,
      evidence: evidence && {
        verdict: evidence.verdict,
        reencryptions: evidence.reencryptions,
        note: evidence.note,
      },
    });
  }
  const counts: Record<string, number> = {};
  for (const c of clusters) counts[c.status] = (counts[c.status] ?? 0) + 1;
  // Only a cluster skipped when the campaign was formed (no stage: the procedure does not apply) is not the
  // campaign's to prove; every other one must be proven by its own evidence, a skipped one included.
  const owed = clusters.filter((c) => c.stage !== null);
  const allProven = owed.every((c) => c.status === 'proven' && c.evidence?.verdict === 'proven');
  return {
    campaignId: progress.campaignId,
    procedure: progress.procedure,
    phase: progress.phase,
    haltReason: progress.haltReason ?? null,
    startedAt: progress.startedAt,
    endedAt: progress.endedAt ?? null,
    counts,
    clusters,
    exitCode: !progress.endedAt ? ExitCode.waiting : allProven ? ExitCode.success : ExitCode.failed,
  };
}
