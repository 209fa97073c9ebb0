/**
 * `kmsflow campaign plan`: which clusters a campaign would run on, in which stage, which it skips and why;
 * with `preflight`, what each cluster's preflight would refuse. Reads only.
 */
import { type CampaignMember, type CampaignStage, concurrencyOf } from '../model/campaign';
import type { Finding } from '../model/preflight';
import { clusterInput, derivesKey, formFromSelection, type InputSource, messageOf } from './campaign-inputs';
import type { CampaignInput } from './campaign-messages';
import { procedureNamed } from './procedures';
import { preflightInputOf } from './procedures/common';
import { ProcedureRun, runPreflight } from './procedure-steps';
import { quick } from './activity-proxies';
import { followCurrentVersion } from './versioning-behavior';

/** A cluster's preflight at plan time: what would refuse its procedure before it changes anything. */
export interface PlannedPreflight {
  ok: boolean;
  errors: Pick<Finding, 'code' | 'message' | 'fix'>[];
  warnings: number;
  /** What the plan could not check yet, and why. */
  note?: string;
}

export interface CampaignPlan {
  procedure: CampaignInput['procedure'];
  members: (CampaignMember & { preflight?: PlannedPreflight })[];
  stages: (CampaignStage & { clusters: number; concurrency: number })[];
}

/** Preflights at once while planning: each reads ARM, Key Vault and the cluster. */
const PLAN_PREFLIGHT_CONCURRENCY = 8;

/**
 * rotate's new version is created when the cluster's turn comes, so the plan checks the cluster against the
 * key it uses now (same vault, same permissions and network rules) and leaves out what compares the two keys.
 */
const CHECKED_AT_THE_CLUSTER_TURN = ['SameKey', 'SameKeyUnproven'];

async function preflightAtPlan(input: InputSource, member: CampaignMember): Promise<PlannedPreflight> {
  const definition = procedureNamed(input.procedure)!.definition;
  try {
    const start = await quick.getClusterDigest(member.clusterId);
    const keyLater = derivesKey(input, member) && input.procedure === 'rotate-key';
    // rotate's other flags (--mode, --vault-id) are checked with the key in use standing in for the new version.
    const checked = clusterInput(input, member, keyLater ? start.kms.keyId : undefined);
    if (typeof checked === 'string')
      return { ok: false, errors: [{ code: 'InputsDoNotFit', message: checked }], warnings: 0 };
    const report = await runPreflight(
      definition,
      preflightInputOf(definition, checked, new ProcedureRun(member.clusterId), start),
    );
    const findings = keyLater
      ? report.findings.filter((f) => !CHECKED_AT_THE_CLUSTER_TURN.includes(f.code))
      : report.findings;
    const errors = findings
      .filter((f) => f.severity === 'error')
      .map(({ code, message, fix }) => ({ code, message, ...(fix ? { fix } : {}) }));
    return {
      ok: errors.length === 0,
      errors,
      warnings: findings.filter((f) => f.severity === 'warning').length,
      ...(keyLater
        ? { note: "the new key version is created at the cluster's turn: checked against the key in use" }
        : {}),
    };
  } catch (err) {
    // One cluster that cannot be read must not cost the plan of every other.
    return { ok: false, errors: [{ code: 'PreflightNotRun', message: messageOf(err) }], warnings: 0 };
  }
}

/**
 * What `kmsflow campaign plan` shows: the selected clusters in their stages, and the skipped ones with why;
 * with `preflight`, each selected cluster's preflight too. Reads only.
 */
export async function planCampaign(
  input: Pick<CampaignInput, 'procedure' | 'selection' | 'stages' | 'flags' | 'clusterFlags'> & {
    preflight?: boolean;
  },
): Promise<CampaignPlan> {
  const { members, stageSizes } = await formFromSelection(input);
  const planned: CampaignPlan['members'] = members.map((m) => ({ ...m }));
  if (input.preflight) {
    const selected = planned.filter((m) => !m.skipReason);
    for (let i = 0; i < selected.length; i += PLAN_PREFLIGHT_CONCURRENCY)
      await Promise.all(
        selected.slice(i, i + PLAN_PREFLIGHT_CONCURRENCY).map(async (m) => {
          m.preflight = await preflightAtPlan(input, m);
        }),
      );
  }
  return {
    procedure: input.procedure,
    members: planned,
    stages: input.stages.map((s, i) => ({
      ...s,
      clusters: stageSizes[i]!,
      concurrency: concurrencyOf(s, stageSizes[i]!),
    })),
  };
}

followCurrentVersion(planCampaign);
