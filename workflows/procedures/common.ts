import type { ClusterDigest, NetworkAccess } from '../../model/cluster-model';
import type { PreflightInput, ProcedureName } from '../../activities/preflight';
import { quick } from '../activity-proxies';
import { type ProcedureResult, runProcedure, type StepDefinition } from '../engine/procedure';
import { ProcedureRun } from '../procedure-steps';
import type { ReencryptResult, ReencryptSettings } from '../reencrypt';

export interface ProcedureInputBase {
  clusterId: string;
  /** Gates approved at start: gate ids, or 'all'. */
  autoApprove?: string[] | 'all';
  requestedBy?: string;
  reencrypt?: Partial<ReencryptSettings>;
}

export interface ProcedureOutcome extends ProcedureResult {
  /** The proof of every re-encryption the procedure ran, in order. */
  evidence: ReencryptResult[];
}

export type { NetworkAccess };

/**
 * A procedure as data: its preflight input and its ordered steps. The workflow runs it; `planProcedure`
 * lists the same steps without running them.
 */
export interface ProcedureDefinition<I extends ProcedureInputBase> {
  name: ProcedureName;
  preflightInput(input: I, run: ProcedureRun, start: ClusterDigest): PreflightInput;
  steps(run: ProcedureRun, input: I, start: ClusterDigest): StepDefinition[];
}

export async function runDefinition<I extends ProcedureInputBase>(definition: ProcedureDefinition<I>, input: I): Promise<ProcedureOutcome> {
  const run = new ProcedureRun(input.clusterId, input.reencrypt);
  const result = await runProcedure(
    { procedure: definition.name, cluster: run.name, autoApprove: input.autoApprove, requestedBy: input.requestedBy },
    // Some step lists depend on the cluster (e.g. one step per upgrade hop): read it once, first.
    async () => definition.steps(run, input, await quick.getClusterDigest(input.clusterId)),
  );
  return { ...result, evidence: run.evidence };
}
