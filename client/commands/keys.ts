import type { Command } from 'commander';
import { parseClusterId, sameKeyId } from '../../workflows/ids';
import { type LedgerView, proofOfRun } from '../../workflows/ledger-model';
import { ExitCode } from '../exit-codes';
import { renderKeys } from '../output/keys-view';
import type { KeyRecordView, KeysResult, ProcedureRow } from '../output/shapes';
import { readLedger } from './support/ledger';
import { addExamples, addJsonOption, nonEmptyText } from './support/options';
import { clusterIdOf } from './support/procedure-request';
import { listProcedures } from './support/visibility';
import type { CommandModule } from './support/runtime';

/** How many of the cluster's procedure runs `keys` lists. */
const KEYS_PROCEDURE_LIMIT = 50;

export function keysResult(clusterId: string, view: LedgerView, known: boolean, procedures: ProcedureRow[] = []): KeysResult {
  const slotOf = (keyId: string): KeyRecordView['slot'] =>
    sameKeyId(view.slots.current, keyId) ? 'current' : sameKeyId(view.slots.previous, keyId) ? 'previous' : null;
  const retirable = (keyId: string) => view.retirable.some((r) => sameKeyId(r, keyId));
  const keys: KeyRecordView[] = view.keys.map((k) => ({
    keyId: k.keyId,
    slot: slotOf(k.keyId),
    state: k.retiredAt ? 'retired' : retirable(k.keyId) ? 'retirable' : 'still-needed',
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
          status: last.status ?? 'completed',
          proven: last.proven,
          at: last.at,
          workflowId: last.workflowId,
          runId: last.runId ?? null,
          watermark: last.watermark,
          digest: last.digest,
          objects: last.objects,
          secretsPerSecond: last.secretsPerSecond ?? null,
        }
      : null,
    procedures: procedures.map((row) => ({ ...row, proof: proofOfRun(view, row.firstRunId) })),
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
        const client = await ctx.temporal();
        const { view, known } = await readLedger(client, clusterId);
        const { rows } = await listProcedures(client, { cluster: clusterId }, KEYS_PROCEDURE_LIMIT);
        const result = keysResult(clusterId, view, known, rows);
        if (ctx.out.json) ctx.out.printJson(result);
        else ctx.out.lines(renderKeys(result, ctx.out.style));
        return ExitCode.success;
      }),
    );
  },
};
