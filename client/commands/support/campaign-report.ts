/** `kmsflow campaign report`: the campaign's record with each cluster's re-encryption evidence. */
import type { Client } from '@temporalio/client';
import type { CampaignProgress } from '../../../workflows/campaign-messages';
import { procedureWorkflowId } from '../../../workflows/messages';
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

export async function campaignReport(client: Client, progress: CampaignProgress): Promise<CampaignReport> {
  const clusters: CampaignReportCluster[] = [];
  for (const c of progress.clusters) {
    const evidence = c.runId ? await readEvidence(client, procedureWorkflowId(c.clusterId), c.runId) : null;
    clusters.push({
      clusterId: c.clusterId,
      name: c.name,
      stage: c.stage,
      status: c.status,
      reason: c.reason ?? null,
      keyId: c.keyId ?? null,
      runId: c.runId ?? null,
      evidence: evidence && {
        verdict: evidence.verdict,
        reencryptions: evidence.reencryptions,
        note: evidence.note,
      },
    });
  }
  const counts: Record<string, number> = {};
  for (const c of clusters) counts[c.status] = (counts[c.status] ?? 0) + 1;
  // Skipped clusters were never the campaign's to prove; everything else must be proven by its own evidence.
  const owed = clusters.filter((c) => c.status !== 'skipped');
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
