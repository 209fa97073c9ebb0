import { type Client, WorkflowNotFoundError } from '@temporalio/client';
import type { Command } from 'commander';
import { parseClusterId } from '../../workflows/ids';
import { ledgerQuery } from '../../workflows/ledger';
import { emptyLedger, type LedgerView, ledgerView } from '../../workflows/ledger-model';
import { ledgerWorkflowId } from '../../workflows/messages';
import { ExitCode } from '../exit-codes';
import { renderKeys } from '../output/keys-view';
import type { KeyRecordView, KeysResult } from '../output/shapes';
import { CliError } from './support/errors';
import { addExamples, addJsonOption, nonEmptyText } from './support/options';
import { clusterIdOf } from './support/procedure-request';
import type { CommandModule } from './support/runtime';

const QUERY_TIMEOUT_MS = 10_000;

const norm = (k: string | undefined) => k?.trim().replace(/\/+$/, '').toLowerCase();

/** The ledger view of a cluster; an unknown cluster has an empty ledger. */
export async function readLedger(client: Client, clusterId: string): Promise<{ view: LedgerView; known: boolean }> {
  const handle = client.workflow.getHandle(ledgerWorkflowId(clusterId));
  try {
    const view = await client.connection.withDeadline(Date.now() + QUERY_TIMEOUT_MS, () => handle.query(ledgerQuery));
    return { view, known: true };
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return { view: ledgerView(emptyLedger(parseClusterId(clusterId).name)), known: false };
    throw new CliError(
      ExitCode.error,
      `The key ledger of ${parseClusterId(clusterId).name} did not answer (${(err as Error).message}): is a kmsflow worker running (\`kmsflow worker\`)?`,
    );
  }
}

export function keysResult(clusterId: string, view: LedgerView, known: boolean): KeysResult {
  const slotOf = (keyId: string): KeyRecordView['slot'] =>
    norm(view.slots.current) === norm(keyId) ? 'current' : norm(view.slots.previous) === norm(keyId) ? 'previous' : null;
  const retirable = new Set(view.retirable.map(norm));
  const keys: KeyRecordView[] = view.keys.map((k) => ({
    keyId: k.keyId,
    slot: slotOf(k.keyId),
    state: k.retiredAt ? 'retired' : retirable.has(norm(k.keyId)) ? 'retirable' : 'still-needed',
    setAt: k.firstSetAt,
    replacedAt: k.replacedAt ?? null,
    provenAt: k.provenAt ?? null,
    migratedAwayAt: k.migratedAwayAt ?? null,
    retiredAt: k.retiredAt ?? null,
    retiredHow: k.retiredHow ?? null,
  }));
  const last = view.lastReencryption;
  return {
    clusterId,
    cluster: parseClusterId(clusterId).name,
    known,
    kmsEnabled: view.kmsEnabled,
    slots: { current: view.slots.current ?? null, previous: view.slots.previous ?? null },
    keys,
    stillNeeded: view.stillNeeded,
    retirable: view.retirable,
    lastReencryption: last
      ? {
          keyId: last.keyId ?? null,
          proven: last.proven,
          at: last.at,
          workflowId: last.workflowId,
          watermark: last.watermark,
          digest: last.digest,
          objects: last.objects,
          secretsPerSecond: last.secretsPerSecond ?? null,
        }
      : null,
    note: known
      ? null
      : 'kmsflow has recorded nothing for this cluster yet: its ledger starts with the first procedure kmsflow runs on it. The key slots of a cluster kmsflow never changed are shown by `kmsflow plan`.',
  };
}

interface KeysOptions {
  subscription?: string;
  resourceGroup?: string;
  name?: string;
}

export const keysCommand: CommandModule = {
  register(program: Command, runtime) {
    const command = program
      .command('keys')
      .argument('[cluster]', "the AKS cluster's resource id, e.g. \"$(az aks show -g RG -n NAME --query id -o tsv)\"")
      .description(
        "Show a cluster's key ledger: AKS's two key slots, every key version kmsflow set (set, replaced, proven, migrated away,\n" +
          'retired), which versions are still needed and which may be retired, and the last re-encryption proof.',
      )
      .option('--subscription <id>', 'with --resource-group and --name: the subscription (default: $AZURE_SUBSCRIPTION_ID)', nonEmptyText('subscription'))
      .option('--resource-group <name>', "instead of the resource id: the cluster's resource group", nonEmptyText('resource group'))
      .option('--name <name>', "instead of the resource id: the cluster's name", nonEmptyText('cluster name'));
    addJsonOption(command);
    addExamples(command, ['kmsflow keys "$CLUSTER_ID"', 'kmsflow keys --resource-group rg-prod --name aks-prod-1 --json | jq .retirable']);
    command.action(
      runtime.action(async (ctx, cluster: string | undefined, opts: KeysOptions) => {
        const clusterId = clusterIdOf({ ...opts, cluster }, ctx.io.env, 'kmsflow keys');
        const { view, known } = await readLedger(await ctx.temporal(), clusterId);
        const result = keysResult(clusterId, view, known);
        if (ctx.out.json) ctx.out.printJson(result);
        else ctx.out.lines(renderKeys(result, ctx.out.style));
        return ExitCode.success;
      }),
    );
  },
};
