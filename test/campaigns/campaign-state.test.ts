// What a campaign run hands the next: every cluster's state survives the trip, and 5,000 clusters in the worst
// realistic mix (long resource ids, a key per cluster, reasons naming the cluster, run ids of procedures still
// going) stay under 256 KB, an eighth of Temporal's payload limit.
import { describe, expect, it } from 'vitest';
import type { CampaignClusterState, CampaignProgress } from '../../workflows/campaign-messages';
import { carryCampaign, resumeCampaign } from '../../workflows/campaign-state';

const START = '2026-12-01T00:00:00.000Z';
const at = (seconds: number) => new Date(Date.parse(START) + seconds * 1000).toISOString();

function cluster(i: number): CampaignClusterState {
  const subscription = `0000000${i % 7}-1111-4222-8333-44444444444${i % 10}`;
  const name = `aks-production-westeurope-${String(i).padStart(5, '0')}`;
  const clusterId = `/subscriptions/${subscription}/resourceGroups/rg-platform-${i % 40}/providers/Microsoft.ContainerService/managedClusters/${name}`;
  const base = {
    clusterId,
    name,
    stage: ['canary', 'wave', 'rest'][i % 3]!,
    startedAt: at(i),
    endedAt: at(i + 600),
  };
  const keyId = `https://kv-prod-${i % 50}.vault.azure.net/keys/etcd-${i % 50}/${'0123456789abcdef'.repeat(2)}`;
  switch (i % 10) {
    case 0:
      return {
        ...base,
        status: 'blocked',
        runId: `0190c1d2-${String(i).padStart(4, '0')}-7000-8000-000000000000`,
        keyId,
        reason: `blocked at step rotate: fix what kmsflow status ${clusterId} shows, then kmsflow retry ${clusterId} (or kmsflow cancel it)`,
      };
    case 1:
      return {
        clusterId,
        name,
        stage: 'rest',
        status: 'waiting-window',
        waitUntil: at(86_400 + (i % 24) * 3600),
        reason: `outside its maintenance window (aksManagedAutoUpgradeSchedule): waits until ${at(86_400 + (i % 24) * 3600)}`,
      };
    case 2:
      return { clusterId, name, stage: 'rest', status: 'pending' };
    case 3:
      return {
        ...base,
        status: 'running',
        runId: `0190c1d2-${String(i).padStart(4, '0')}-7000-8000-000000000001`,
        keyId,
      };
    default:
      return {
        ...base,
        status: 'proven',
        runId: `0190c1d2-${String(i).padStart(4, '0')}-7000-8000-000000000002`,
        keyId,
      };
  }
}

function progressOf(n: number): CampaignProgress {
  return {
    campaignId: 'rotate-2026q4',
    procedure: 'rotate-key',
    phase: 'running',
    paused: false,
    stage: 'rest',
    stages: ['canary', 'wave', 'rest'].map((name) => ({ name, clusters: n / 3, status: 'running' as const })),
    clusters: Array.from({ length: n }, (_, i) => cluster(i)),
    budget: { maxFailures: 600, failures: 500, left: 100 },
    retried: [],
    startedAt: START,
  };
}

describe('carried campaign state', () => {
  it('gives back every cluster as it was, but run ids only of procedures still going', () => {
    const progress = progressOf(30);
    const counted = new Set([progress.clusters[0]!.clusterId.toLowerCase()]);
    const resumed = resumeCampaign(carryCampaign(progress, counted));
    expect(resumed.counted).toEqual(counted);
    expect(resumed.progress.clusters).toEqual(
      progress.clusters
        .map((c) =>
          ['running', 'blocked', 'waiting-approval'].includes(c.status) ? c : { ...c, runId: undefined },
        )
        .map((c) => JSON.parse(JSON.stringify(c))),
    );
    const { clusters: _a, ...rest } = progress;
    const { clusters: _b, ...resumedRest } = resumed.progress;
    expect(resumedRest).toEqual(rest);
  });

  it('keeps 5,000 clusters under 256 KB', () => {
    const progress = progressOf(5_000);
    const full = JSON.stringify(progress).length;
    const carried = JSON.stringify(carryCampaign(progress, new Set())).length;
    console.log(
      `5,000 clusters: progress ${Math.round(full / 1024)} KB, carried ${Math.round(carried / 1024)} KB`,
    );
    expect(carried).toBeLessThan(256 * 1024);
  });

  it('reads a progress an earlier release carried as it was', () => {
    const progress = progressOf(3);
    expect(resumeCampaign(progress)).toEqual({ progress, counted: new Set() });
  });
});
