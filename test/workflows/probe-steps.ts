// A small procedure that exercises every feature of the engine; recorded histories of it guard replay.
import { proxyActivities } from '@temporalio/workflow';
import { runProcedure, type ProcedureResult, type StepDefinition } from '../../workflows/engine/procedure';
import type { ProbeActivities } from './probe-activities';

const activities = proxyActivities<ProbeActivities>({
  startToCloseTimeout: '10 seconds',
  retry: { initialInterval: '50 milliseconds', maximumAttempts: 2 },
});

export interface ProbeInput {
  cluster: string;
  batches: number;
  autoApprove?: string[] | 'all';
}

export function runProbe(
  input: ProbeInput,
  variant: { insertStepAfterChange?: boolean } = {},
): Promise<ProcedureResult> {
  const steps: StepDefinition[] = [
    { id: 'preflight', title: 'Preflight', run: () => activities.check(input.cluster) },
    {
      id: 'change',
      title: 'Change the cluster',
      gate: { id: 'change', prompt: 'The cluster will be changed.' },
      run: () => activities.change(input.cluster),
    },
    {
      id: 'rewrite',
      title: 'Rewrite every item',
      run: async (ctx) => {
        let done = 0;
        for (let batch = 0; batch < input.batches; batch++) {
          done += await activities.rewriteBatch(batch);
          ctx.reportProgress({ done, total: input.batches * 10, unit: 'items' });
          await ctx.checkpoint();
        }
      },
    },
    { id: 'optional', title: 'Only for big runs', when: () => input.batches > 100, run: async () => {} },
    { id: 'verify', title: 'Verify', run: () => activities.verify(input.cluster) },
  ];
  if (variant.insertStepAfterChange) {
    steps.splice(2, 0, {
      id: 'inserted',
      title: 'A step added later',
      run: () => activities.verify(input.cluster),
    });
  }
  return runProcedure(
    { procedure: 'probe', cluster: input.cluster, autoApprove: input.autoApprove, requestedBy: 'test' },
    steps,
  );
}
