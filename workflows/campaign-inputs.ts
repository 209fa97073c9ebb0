/**
 * Each cluster's procedure input in a campaign: the flags for all, the cluster's row of the mapping file over
 * them, and rotate's new key version when no key was given; checked by the procedure's own rules, as `kmsflow
 * start` checks them. Shared by the campaign, its plan and its formation.
 */
import { type CampaignMember, formCampaign, KEY_FROM_CLUSTER } from '../model/campaign';
import { type CheckedFlags, ProcedureInputError } from '../model/procedure-flags';
import { quick } from './activity-proxies';
import type { CampaignInput } from './campaign-messages';
import { procedureNamed } from './procedures';
import type { ProcedureInputBase } from './procedures/common';

export type InputSource = Pick<
  CampaignInput,
  'procedure' | 'flags' | 'clusterFlags' | 'procedureOptions' | 'requestedBy'
>;

/** The flags for one cluster: its row in the mapping over the flags for all. */
function flagsFor(input: InputSource, c: { clusterId: string; name: string }): CheckedFlags {
  const own = input.clusterFlags?.[c.clusterId.toLowerCase()] ?? input.clusterFlags?.[c.name.toLowerCase()];
  return { ...input.flags, ...own };
}

/** rotate without a key given: the campaign's new version of the key the cluster uses. */
export const derivesKey = (input: InputSource, c: { clusterId: string; name: string }) =>
  KEY_FROM_CLUSTER.includes(input.procedure) && !flagsFor(input, c).keyId;

/**
 * The cluster's procedure input from its flags (the procedure's own rules, as `kmsflow start` applies them), or
 * the sentence why it has none. `derivedKeyId`: rotate's new version when no key was given.
 */
export function clusterInput(
  input: InputSource,
  c: { clusterId: string; name: string },
  derivedKeyId?: string,
): ProcedureInputBase | string {
  const definition = procedureNamed(input.procedure)!.definition;
  const base: ProcedureInputBase = {
    clusterId: c.clusterId,
    ...input.procedureOptions,
    ...(input.requestedBy ? { requestedBy: input.requestedBy } : {}),
  };
  const flags = { ...flagsFor(input, c), ...(derivedKeyId ? { keyId: derivedKeyId } : {}) };
  // rotate's key is the campaign's new version, created only when the cluster's turn comes.
  if (derivesKey(input, c) && input.procedure === 'rotate-key' && !derivedKeyId) return base;
  try {
    return definition.input(flags, base);
  } catch (err) {
    if (err instanceof ProcedureInputError) return `its inputs do not fit: ${err.message}`;
    throw err;
  }
}

/** Selected clusters in their stages; those the procedure does not apply to, or whose inputs do not fit, skipped with why. */
export async function formFromSelection(
  input: InputSource & Pick<CampaignInput, 'selection' | 'stages'>,
): Promise<{ members: CampaignMember[]; stageSizes: number[] }> {
  return formCampaign(input.procedure, await quick.selectClusters(input.selection), input.stages, (c) => {
    const result = clusterInput(input, c);
    return typeof result === 'string' ? result : undefined;
  });
}

/** The message of a failure as a campaign records it: the innermost cause's, which names what failed. */
export function messageOf(err: unknown): string {
  const e = err as { cause?: { message?: string; cause?: { message?: string } }; message?: string };
  return e.cause?.cause?.message ?? e.cause?.message ?? e.message ?? String(err);
}
