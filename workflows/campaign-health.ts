/**
 * The health analysis after a stage's soak, before the next stage starts: each proven cluster of the stage is
 * read again (ARM's KMS state, its key version in Key Vault, the API server's readiness, a sample of
 * Secrets). A cluster that fails it is `unhealthy` and spends the budget, which halts the campaign per its
 * policy. Checked `concurrency` at a time; the count checked is kept, so a new run goes on where one left.
 */
import { type CampaignStage, concurrencyOf } from '../model/campaign';
import { quick } from './activity-proxies';
import type { CampaignStageState } from './campaign-messages';
import type { CampaignRun } from './campaign-run';

export async function checkStageHealth(
  run: CampaignRun,
  stage: CampaignStage,
  state: CampaignStageState,
): Promise<void> {
  // Proven or found unhealthy: the same clusters in the same order whichever run counts them.
  const checkable = run.progress.clusters.filter(
    (c) => c.stage === stage.name && (c.status === 'proven' || c.status === 'unhealthy'),
  );
  const batch = concurrencyOf(stage, state.clusters);
  const kms = run.input.procedure === 'disable-kms' ? 'off' : 'on';
  for (let i = state.checked ?? 0; i < checkable.length && !run.stopping(); i += batch) {
    const clusters = checkable.slice(i, i + batch).filter((c) => c.status === 'proven');
    const results = await Promise.all(
      clusters.map((c) =>
        quick.checkClusterHealth({ clusterId: c.clusterId, kms, ...(c.keyId ? { keyId: c.keyId } : {}) }),
      ),
    );
    results.forEach(({ problems }, j) => {
      if (problems.length > 0)
        run.setStatus(
          clusters[j]!,
          'unhealthy',
          `proven, then failed its health check after stage ${stage.name}: ${problems.join('; ')}`,
        );
    });
    state.checked = Math.min(checkable.length, i + batch);
    run.publish();
    await run.handOverIfDue();
  }
}
