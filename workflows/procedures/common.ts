import type { ClusterDigest, NetworkAccess } from '../../model/cluster-model';
import type { EstateScope, PreflightInput } from '../../model/preflight';
import type { RuleCode } from '../../model/rules';
import type { CheckedFlags, ProcedureFlag } from '../../model/procedure-flags';
import type { ProcedureName } from '.';
import { quick } from '../activity-proxies';
import { type ProcedureResult, runProcedure, type StepDefinition } from '../engine/procedure';
import { preflightStep, ProcedureRun } from '../procedure-steps';
import type { ReencryptResult, ReencryptSettings } from '../reencrypt';

export interface ProcedureInputBase {
  clusterId: string;
  /** Gates approved at start: gate ids, or 'all'. */
  autoApprove?: string[] | 'all';
  requestedBy?: string;
  reencrypt?: Partial<ReencryptSettings>;
  /** The other clusters its safety rules look at, and what the operator vouches for (--assume-unused…). */
  estate?: EstateScope;
}

export interface ProcedureOutcome extends ProcedureResult {
  /** The proof of every re-encryption the procedure ran, in order. */
  evidence: ReencryptResult[];
}

export type { NetworkAccess };

/**
 * A procedure, defined once: its names, its command-line flags and the input they make, its preflight
 * input, its ordered steps and the keys it puts into AKS's slots. The workflow runs the steps; the CLI
 * checks flags and starts the workflow from it; `planProcedure` lists the same steps without running them.
 */
export interface ProcedureDefinition<
  I extends ProcedureInputBase = ProcedureInputBase,
  N extends string = string,
> {
  /** Its name in plans, search attributes and preflight (`rotate-key`). */
  name: N;
  /** `kmsflow start <command>` (`rotate`). */
  command: string;
  /** One line for `--help`. */
  summary: string;
  /** The flags it takes besides the cluster, --approve and the re-encryption tuning. */
  flags: ProcedureFlag[];
  /** Its workflow input from the checked flags; throws ProcedureInputError naming the fix. */
  input(flags: CheckedFlags, base: ProcedureInputBase): I;
  preflightInput(input: I, run: ProcedureRun, start: ClusterDigest): PreflightInput;
  /** The preflight rules that apply to it (model/rules), in the order their findings are listed. */
  rules: readonly RuleCode[];
  /** The steps after the preflight; each declares its effect (the keys it sets, …) for the plan. */
  steps(run: ProcedureRun, input: I, start: ClusterDigest): StepDefinition[];
}

/** Keeps the procedure's name as a literal type, so the list of procedures types every lookup by name. */
export function defineProcedure<I extends ProcedureInputBase, const N extends string>(
  definition: ProcedureDefinition<I, N>,
): ProcedureDefinition<I, N> {
  return definition;
}

/** The procedure's preflight input, with the estate scope every procedure takes from its base input. */
export function preflightInputOf<I extends ProcedureInputBase>(
  definition: ProcedureDefinition<I, string>,
  input: I,
  run: ProcedureRun,
  start: ClusterDigest,
): PreflightInput {
  return {
    ...definition.preflightInput(input, run, start),
    ...(input.estate ? { estate: input.estate } : {}),
  };
}

/** Every step a procedure runs: the preflight of its documented limits, then its own. */
export function stepsOf<I extends ProcedureInputBase>(
  definition: ProcedureDefinition<I, ProcedureName>,
  run: ProcedureRun,
  input: I,
  start: ClusterDigest,
): StepDefinition[] {
  return [
    preflightStep(run, definition, () => preflightInputOf(definition, input, run, start)),
    ...definition.steps(run, input, start),
  ];
}

export async function runDefinition<I extends ProcedureInputBase>(
  definition: ProcedureDefinition<I, ProcedureName>,
  input: I,
): Promise<ProcedureOutcome> {
  const run = new ProcedureRun(input.clusterId, input.reencrypt);
  const result = await runProcedure(
    {
      procedure: definition.name,
      cluster: run.name,
      autoApprove: input.autoApprove,
      requestedBy: input.requestedBy,
    },
    // Some step lists depend on the cluster (e.g. one step per upgrade hop): read it once, first.
    async () => stepsOf(definition, run, input, await quick.getClusterDigest(input.clusterId)),
  );
  return { ...result, evidence: run.evidence };
}
