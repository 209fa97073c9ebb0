import type { Command } from 'commander';
import { parseClusterId, sameKeyId } from '../../model/ids';
import { type LedgerView, proofOfRun } from '../../model/ledger-model';
import { ExitCode } from '../exit-codes';
import { renderKeys } from '../output/keys-view';
import type { AzureKeysView, KeyRecordView, KeysResult, ProcedureRow } from '../output/shapes';
import type { Client } from '@temporalio/client';
import { type ClusterKeys, describeClusterKeys } from '../../workflows/cluster-keys';
import { readLedger } from './support/ledger';
import {
  addExamples,
  addJsonOption,
  addTaskQueueOption,
  nonEmptyText,
  taskQueueOf,
  wholeNumber,
} from './support/options';
import { workerSeen } from './support/procedure-runs';
import { clusterIdOf } from './support/procedure-request';
import { listProcedures } from './support/visibility';
import type { CommandModule } from './support/runtime';

/** How many of the cluster's procedure runs `keys` lists. */
const KEYS_PROCEDURE_LIMIT = 50;

/** Warn about keys Secrets still need that expire within this many days (default of `--warn-days`). */
export const DEFAULT_KEY_WARN_DAYS = 30;

/** The keys whose state `keys` asks Azure about: the ledger's slots and the keys it still needs (ARM adds its current one). */
export const keysToRead = (view: LedgerView) => [
  ...new Set([view.slots.current, view.slots.previous, ...view.stillNeeded].filter((k): k is string => !!k)),
];

function azureView(azure: ClusterKeys): AzureKeysView {
  return {
    kmsEnabled: azure.kms.enabled,
    networkAccess: azure.kms.networkAccess ?? null,
    currentKeyId: azure.kms.keyId ?? null,
    keys: azure.keys.map((k) => ({
      ...k,
      source: azure.kms.enabled && sameKeyId(k.keyId, azure.kms.keyId) ? 'arm-current-slot' : 'ledger',
    })),
  };
}

/** Keys Secrets may still need (ARM's current one, the ledger's still-needed ones) that will not read them, now or soon. */
function keyWarnings(
  azure: AzureKeysView | null,
  view: LedgerView,
  warnDays: number,
  now = Date.now(),
): string[] {
  if (!azure) return [];
  const needed = (keyId: string) =>
    (azure.kmsEnabled && sameKeyId(keyId, azure.currentKeyId ?? undefined)) ||
    view.stillNeeded.some((k) => sameKeyId(k, keyId));
  const warnings: string[] = [];
  for (const k of azure.keys.filter((key) => needed(key.keyId))) {
    const where = k.source === 'arm-current-slot' ? 'the key in use' : 'still needed (kmsflow ledger)';
    if (k.problem) warnings.push(`${k.keyId} (${where}) cannot be read: ${k.problem}`);
    else if (k.enabled === false)
      warnings.push(`${k.keyId} (${where}) is disabled: Secrets under it cannot be read.`);
    else if (k.expiresOn && Date.parse(k.expiresOn) <= now)
      warnings.push(`${k.keyId} (${where}) expired on ${k.expiresOn}: Secrets under it cannot be read.`);
    else if (k.expiresOn && Date.parse(k.expiresOn) - now < warnDays * 86_400_000) {
      warnings.push(
        `${k.keyId} (${where}) expires on ${k.expiresOn}, within ${warnDays} days: extend it or rotate and re-encrypt before then.`,
      );
    }
  }
  return warnings;
}

export function keysResult(
  clusterId: string,
  view: LedgerView,
  known: boolean,
  procedures: ProcedureRow[] = [],
  azure: ClusterKeys | null = null,
  warnDays = DEFAULT_KEY_WARN_DAYS,
): KeysResult {
  const fromAzure = azure ? azureView(azure) : null;
  const slotOf = (keyId: string): KeyRecordView['slot'] =>
    sameKeyId(view.slots.current, keyId)
      ? 'current'
      : sameKeyId(view.slots.previous, keyId)
        ? 'previous'
        : null;
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
    azure: fromAzure,
    azureUnread: fromAzure ? null : 'not asked',
    warnings: keyWarnings(fromAzure, view, warnDays),
    warnDays,
    note: known
      ? null
      : "kmsflow has recorded nothing for this cluster yet. AKS's current slot is what ARM reports; its previous slot, and whether Secrets are still stored under older keys, only kmsflow's ledger knows, from the first procedure kmsflow runs on the cluster.",
  };
}

interface KeysOptions {
  subscription?: string;
  resourceGroup?: string;
  name?: string;
  warnDays: number;
  taskQueue?: string;
}

/** What Azure reports about the cluster's keys, through a worker (it holds the Azure credentials); null without one. */
async function readAzureKeys(
  client: Client,
  clusterId: string,
  keyIds: string[],
  taskQueue: string,
): Promise<{ azure: ClusterKeys | null; unread: string | null }> {
  if (!(await workerSeen(client, taskQueue)))
    return {
      azure: null,
      unread: `no kmsflow worker polls task queue ${taskQueue} (start one with \`kmsflow worker\`)`,
    };
  try {
    const azure = await client.workflow.execute(describeClusterKeys, {
      taskQueue,
      workflowId: `kmsflow-keys:${clusterId.toLowerCase()}:${new Date().toISOString()}`,
      args: [{ clusterId, keyIds }],
      // A worker of an older kmsflow does not know this workflow: give up soon and show the ledger.
      workflowExecutionTimeout: '1 minute',
      staticSummary: `Read the keys of ${parseClusterId(clusterId).name} (read-only)`,
    });
    return { azure, unread: null };
  } catch (err) {
    const cause = (err as { cause?: Error }).cause;
    return { azure: null, unread: `the worker could not read them: ${(cause ?? (err as Error)).message}` };
  }
}

/** Everything `keys` shows: the ledger, the procedures run on the cluster, and what Azure reports now. */
export async function clusterKeys(
  client: Client,
  clusterId: string,
  taskQueue: string,
  warnDays = DEFAULT_KEY_WARN_DAYS,
): Promise<KeysResult> {
  const { view, known } = await readLedger(client, clusterId);
  const { rows } = await listProcedures(client, { cluster: clusterId }, KEYS_PROCEDURE_LIMIT);
  const { azure, unread } = await readAzureKeys(client, clusterId, keysToRead(view), taskQueue);
  return { ...keysResult(clusterId, view, known, rows, azure, warnDays), azureUnread: unread };
}

export const keysCommand: CommandModule = {
  register(program: Command, runtime) {
    const command = program
      .command('keys')
      .argument(
        '[cluster]',
        'the AKS cluster\'s resource id, e.g. "$(az aks show -g RG -n NAME --query id -o tsv)"',
      )
      .description(
        "Show a cluster's key ledger: AKS's two key slots, every key version kmsflow set (set, replaced, proven, migrated away,\n" +
          'retired), which versions are still needed and which may be retired, and the last re-encryption proof.',
      )
      .option(
        '--subscription <id>',
        'with --resource-group and --name: the subscription (default: $AZURE_SUBSCRIPTION_ID)',
        nonEmptyText('subscription'),
      )
      .option(
        '--resource-group <name>',
        "instead of the resource id: the cluster's resource group",
        nonEmptyText('resource group'),
      )
      .option('--name <name>', "instead of the resource id: the cluster's name", nonEmptyText('cluster name'))
      .option(
        '--warn-days <n>',
        'warn about keys Secrets still need that expire within this many days',
        wholeNumber(0, 3650),
        DEFAULT_KEY_WARN_DAYS,
      );
    addTaskQueueOption(command);
    addJsonOption(command);
    addExamples(command, [
      'kmsflow keys "$CLUSTER_ID"',
      'kmsflow keys --resource-group rg-prod --name aks-prod-1 --json | jq .retirable',
    ]);
    command.action(
      runtime.action(async (ctx, cluster: string | undefined, opts: KeysOptions) => {
        const clusterId = clusterIdOf({ ...opts, cluster }, ctx.io.env, 'kmsflow keys');
        const result = await clusterKeys(
          await ctx.temporal(),
          clusterId,
          taskQueueOf(opts.taskQueue, ctx.io.env),
          opts.warnDays,
        );
        if (ctx.out.json) ctx.out.printJson(result);
        else ctx.out.lines(renderKeys(result, ctx.out.style));
        return ExitCode.success;
      }),
    );
  },
};
