/**
 * The arguments of `plan` and `start`: which procedure, on which cluster, with which keys, modes and
 * tuning. Everything is checked here, before anything reaches Temporal; a wrong value gets one sentence
 * that names the fix.
 */
import type { Command } from 'commander';
import { z } from 'zod';
import {
  type CheckedFlags,
  FLAG_HELP,
  type ProcedureFlag,
  ProcedureInputError,
} from '../../../model/procedure-flags';
import type { EstateScope } from '../../../model/preflight';
import type { PlanRequest } from '../../../workflows/plan';
import {
  PROCEDURE_COMMANDS,
  PROCEDURES,
  procedureByCommand,
  type Procedure,
  type ProcedureName,
} from '../../../workflows/procedures';
import type { ProcedureInputBase } from '../../../workflows/procedures/common';
import { DEFAULT_REENCRYPT_SETTINGS as DEFAULTS, type ReencryptSettings } from '../../../workflows/reencrypt';
import {
  clusterId as formatClusterId,
  minorVersion,
  parseClusterId,
  parseKeyId,
  parseVaultId,
  usesKmsV2,
} from '../../../model/ids';
import { usageError } from './errors';
import { collect, multiple, nonEmptyText, seconds, wholeNumber } from './options';

/** The re-encryption's tuning flags (`addReencryptOptions`). */
export interface ReencryptFlags {
  pageSize?: number;
  concurrency?: number;
  maxQps?: number;
  latencyGuard?: number;
  pagesPerRun?: number;
  propagationWait?: number;
  pollInterval?: number;
}

export interface ProcedureFlags extends ReencryptFlags {
  cluster?: string;
  subscription?: string;
  resourceGroup?: string;
  name?: string;
  keyId?: string;
  mode?: string;
  vaultId?: string;
  targetVersion?: string;
  newKeyIds?: string;
  how?: string;
  approve?: string;
  estateSubscription?: string[];
  assumeUnused?: string[];
  acceptUnverified?: boolean;
}

/** A checked request: the procedure, its workflow, the cluster and the workflow input. */
export interface ProcedureRequest {
  /** The procedure as `kmsflow start` names it (`rotate`). */
  key: string;
  /** The procedure's workflow: its function name is the Temporal workflow type. */
  workflow: Procedure<ProcedureInputBase, ProcedureName>['workflow'];
  clusterId: string;
  clusterName: string;
  plan: PlanRequest;
}

export const PROCEDURE_ARGUMENT_HELP = `the procedure: ${PROCEDURES.map((p) => `${p.definition.command} (${p.definition.summary})`).join('; ')}`;

export function addProcedureOptions(command: Command): Command {
  command
    .option(
      '--cluster <resourceId>',
      'the AKS cluster\'s resource id, e.g. "$(az aks show -g RG -n NAME --query id -o tsv)"',
      nonEmptyText('cluster id'),
    )
    .option(
      '--subscription <id>',
      'with --resource-group and --name: the subscription (default: $AZURE_SUBSCRIPTION_ID)',
      nonEmptyText('subscription'),
    )
    .option(
      '--resource-group <name>',
      "with --name: the cluster's resource group",
      nonEmptyText('resource group'),
    )
    .option('--name <name>', "with --resource-group: the cluster's name", nonEmptyText('cluster name'));
  addProcedureFlagOptions(command);
  command.option(
    '--approve <gates>',
    'pre-approve these gates (comma-separated gate ids) or all of them ("all")',
    nonEmptyText('gate list'),
  );
  addEstateOptions(command);
  return addReencryptOptions(command);
}

/** Which other clusters the safety rules look at, and what the operator vouches for where kmsflow cannot see. */
export function addEstateOptions(command: Command): Command {
  return command
    .option(
      '--estate-subscription <id>',
      "a subscription whose clusters the safety checks also include (repeat for several; the cluster's own, the vault's and $KMSFLOW_ESTATE_SUBSCRIPTIONS on the worker always count)",
      collect,
    )
    .option(
      '--assume-unused <cluster>',
      'retire: a cluster (name or resource id) whose unknown previous key slot you declare does not hold the version (repeat per cluster; recorded in the key ledger)',
      collect,
    )
    .option(
      '--accept-unverified',
      'go ahead where a safety check cannot run (a vault or subscription kmsflow cannot read); recorded in the key ledger',
    );
}

/** The estate scope of the flags, when any was given. */
export function estateScopeOf(
  flags: Pick<ProcedureFlags, 'estateSubscription' | 'assumeUnused' | 'acceptUnverified'>,
): EstateScope | undefined {
  const scope: EstateScope = {
    ...(flags.estateSubscription?.length
      ? { subscriptions: flags.estateSubscription.map((s) => parseWith(subscriptionSchema, s)) }
      : {}),
    ...(flags.assumeUnused?.length
      ? { assumeUnused: flags.assumeUnused.map((c) => c.trim()).filter(Boolean) }
      : {}),
    ...(flags.acceptUnverified ? { acceptUnverified: true } : {}),
  };
  return Object.keys(scope).length > 0 ? scope : undefined;
}

/** The procedure's own flags (`--key-id`, `--mode`, …); `scope` ends each help line (campaigns: for every cluster). */
export function addProcedureFlagOptions(command: Command, scope = ''): Command {
  const s = scope ? `; ${scope}` : '';
  return command
    .option(
      '--key-id <url>',
      `versioned key id https://<vault>.vault.azure.net/keys/<name>/<version> (enable, rotate; optional for switch-mode, migrate-v2)${s}`,
      nonEmptyText('key id'),
    )
    .option(
      '--mode <Public|Private>',
      `the key vault's network access KMS uses (enable: default Public; switch-mode: the mode to switch to; rotate: the mode of another vault)${s}`,
      nonEmptyText('mode'),
    )
    .option(
      '--vault-id <resourceId>',
      `the key vault's resource id (needed for Private and switch-mode; rotate: when moving to another vault)${s}`,
      nonEmptyText('vault id'),
    )
    .option(
      '--target-version <version>',
      `migrate-v2: the Kubernetes version to reach, 1.27 or later (e.g. 1.29)${s}`,
      nonEmptyText('target version'),
    )
    .option(
      '--new-key-ids <K2,K3>',
      `retire: the two versioned key ids to rotate through (default: two new versions of the current key)${s}`,
      nonEmptyText('key ids'),
    )
    .option(
      '--how <disable|expire>',
      `retire: disable the old key version, or set it to expire (default disable)${s}`,
      nonEmptyText('how'),
    );
}

/** The re-encryption's tuning flags, for `start`, `plan` and campaigns alike; `reencryptSettingsOf` reads them. */
export function addReencryptOptions(command: Command): Command {
  return command
    .option(
      '--page-size <n>',
      `re-encryption: Secrets per list page (default ${DEFAULTS.pageSize})`,
      wholeNumber(1, 5000),
    )
    .option(
      '--concurrency <n>',
      `re-encryption: parallel no-op updates (default ${DEFAULTS.concurrency})`,
      wholeNumber(1, 256),
    )
    .option(
      '--max-qps <n>',
      're-encryption: at most this many writes per second (default: no cap; writes slow down whenever the API server throttles)',
      wholeNumber(1, 100_000),
    )
    .option(
      '--latency-guard <factor>',
      're-encryption without --max-qps: fewer writes in flight whenever the p99 write latency passes this multiple of its level at the start (e.g. 3; default off)',
      multiple(1.5, 100),
    )
    .option(
      '--pages-per-run <n>',
      `re-encryption: pages per workflow run before it continues as new (default ${DEFAULTS.pagesPerRun})`,
      wholeNumber(1, 1000),
    )
    .option(
      '--propagation-wait <seconds>',
      `re-encryption: wait after ARM reports the key, for every API server to load it (default ${DEFAULTS.propagationWaitMs / 1000})`,
      seconds(0, 3600),
    )
    .option(
      '--poll-interval <seconds>',
      `re-encryption: how often the key switch is polled (default ${DEFAULTS.pollIntervalMs / 1000})`,
      seconds(0.05, 600),
    );
}

/** Zod's first message is already one sentence naming the fix. */
function firstMessage(error: z.ZodError): string {
  return error.issues[0]?.message ?? 'The arguments are not valid: see --help.';
}

function idParser<T>(flag: string, parse: (value: string) => T) {
  return z.string().transform((value, ctx) => {
    try {
      parse(value);
      return value.trim();
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: `${flag} ${(err as Error).message}` });
      return z.NEVER;
    }
  });
}

const keyIdSchema = idParser('--key-id', parseKeyId);
const vaultIdSchema = idParser('--vault-id', parseVaultId);

const modeSchema = z.string().transform((value, ctx) => {
  const v = value.trim().toLowerCase();
  if (v === 'public') return 'Public' as const;
  if (v === 'private') return 'Private' as const;
  ctx.addIssue({
    code: 'custom',
    message: `--mode "${value}" is not a network access mode: use Public or Private.`,
  });
  return z.NEVER;
});

const targetVersionSchema = z.string().transform((value, ctx) => {
  try {
    minorVersion(value);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: `--target-version ${(err as Error).message}` });
    return z.NEVER;
  }
  if (!usesKmsV2(value)) {
    ctx.addIssue({
      code: 'custom',
      message: `--target-version ${value} is below 1.27: KMS v2 needs Kubernetes 1.27 or later; give e.g. --target-version 1.29.`,
    });
    return z.NEVER;
  }
  return value.trim().replace(/^v/, '');
});

const newKeyIdsSchema = z.string().transform((value, ctx): [string, string] => {
  const ids = value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (ids.length !== 2) {
    ctx.addIssue({
      code: 'custom',
      message: `--new-key-ids needs exactly two versioned key ids separated by a comma (K2,K3), got ${ids.length}.`,
    });
    return z.NEVER;
  }
  for (const id of ids) {
    try {
      parseKeyId(id);
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: `--new-key-ids ${(err as Error).message}` });
      return z.NEVER;
    }
  }
  return [ids[0]!, ids[1]!];
});

const howSchema = z.string().transform((value, ctx) => {
  const v = value.trim().toLowerCase();
  if (v === 'disable' || v === 'expire') return v;
  ctx.addIssue({
    code: 'custom',
    message: `--how "${value}" is not a way to retire a key: use disable or expire.`,
  });
  return z.NEVER;
});

const subscriptionSchema = z
  .string()
  .trim()
  .regex(
    /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i,
    '--estate-subscription takes a subscription id (a GUID, from az account list --query [].id -o tsv).',
  );

const approveSchema = z.string().transform((value, ctx): string[] | 'all' => {
  if (value.trim().toLowerCase() === 'all') return 'all';
  const gates = value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const bad = gates.find((g) => !/^[a-z0-9][a-z0-9.-]*$/i.test(g));
  if (gates.length === 0 || bad !== undefined) {
    ctx.addIssue({
      code: 'custom',
      message: `--approve "${value}" is not a gate list: give gate ids separated by commas (e.g. disable-kms), or all.`,
    });
    return z.NEVER;
  }
  return gates;
});

/** The command-line name of each procedure flag (the workflow input calls the vault's id vaultResourceId). */
/** Each procedure flag's option on the command line (`vaultResourceId` is `--vault-id`). */
export const FLAG_OPTION: Record<ProcedureFlag, keyof ProcedureFlags> = {
  keyId: 'keyId',
  mode: 'mode',
  vaultResourceId: 'vaultId',
  targetVersion: 'targetVersion',
  newKeyIds: 'newKeyIds',
  how: 'how',
};

function proceduresTaking(flag: ProcedureFlag): string {
  return PROCEDURES.filter((p) => (p.definition.flags as ProcedureFlag[]).includes(flag))
    .map((p) => p.definition.command)
    .join(', ');
}

export function procedureKeyOf(value: string | undefined): string {
  const v = (value ?? '').trim().toLowerCase();
  if (PROCEDURE_COMMANDS.includes(v)) return v;
  const shown = value === undefined || value.trim() === '' ? 'no procedure' : `"${value}"`;
  throw usageError(`Unknown procedure ${shown}: name one of ${PROCEDURE_COMMANDS.join(', ')}.`);
}

/** The cluster from --cluster, or from --subscription (default $AZURE_SUBSCRIPTION_ID) / --resource-group / --name. */
export function clusterIdOf(
  flags: Pick<ProcedureFlags, 'cluster' | 'subscription' | 'resourceGroup' | 'name'>,
  env: Record<string, string | undefined>,
  clusterWords = '--cluster',
): string {
  const parts =
    flags.subscription !== undefined || flags.resourceGroup !== undefined || flags.name !== undefined;
  if (flags.cluster !== undefined) {
    if (parts)
      throw usageError(
        `Name the cluster once: either ${clusterWords} <resource id>, or --resource-group and --name (with --subscription).`,
      );
    const parsed = idParser(clusterWords, parseClusterId).safeParse(flags.cluster);
    if (!parsed.success) throw usageError(firstMessage(parsed.error));
    return formatClusterId(parseClusterId(parsed.data));
  }
  if (!flags.resourceGroup || !flags.name) {
    throw usageError(
      `Name the cluster: ${clusterWords} "$(az aks show -g RG -n NAME --query id -o tsv)", or --resource-group RG --name NAME.`,
    );
  }
  const subscription = flags.subscription ?? env.AZURE_SUBSCRIPTION_ID?.trim();
  if (!subscription)
    throw usageError(
      'Give --subscription, or set AZURE_SUBSCRIPTION_ID (az account show --query id -o tsv prints it).',
    );
  return formatClusterId({
    subscriptionId: subscription,
    resourceGroup: flags.resourceGroup,
    name: flags.name,
  });
}

export function reencryptSettingsOf(flags: ReencryptFlags): Partial<ReencryptSettings> | undefined {
  const settings: Partial<ReencryptSettings> = {};
  if (flags.pageSize !== undefined) settings.pageSize = flags.pageSize;
  if (flags.concurrency !== undefined) settings.concurrency = flags.concurrency;
  if (flags.maxQps !== undefined) settings.maxQps = flags.maxQps;
  if (flags.latencyGuard !== undefined) settings.latencyGuard = flags.latencyGuard;
  if (flags.pagesPerRun !== undefined) settings.pagesPerRun = flags.pagesPerRun;
  if (flags.propagationWait !== undefined)
    settings.propagationWaitMs = Math.round(flags.propagationWait * 1000);
  if (flags.pollInterval !== undefined) settings.pollIntervalMs = Math.round(flags.pollInterval * 1000);
  return Object.keys(settings).length > 0 ? settings : undefined;
}

function parseWith<T>(schema: z.ZodType<T>, value: string): T {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw usageError(firstMessage(parsed.error));
  return parsed.data;
}

/** The procedure flags' values checked one by one (format only; the procedure's own rules come after). */
export function checkFlags(
  flags: Pick<ProcedureFlags, 'keyId' | 'mode' | 'vaultId' | 'targetVersion' | 'newKeyIds' | 'how'>,
): CheckedFlags {
  return {
    ...(flags.keyId !== undefined ? { keyId: parseWith(keyIdSchema, flags.keyId) } : {}),
    ...(flags.mode !== undefined ? { mode: parseWith(modeSchema, flags.mode) } : {}),
    ...(flags.vaultId !== undefined ? { vaultResourceId: parseWith(vaultIdSchema, flags.vaultId) } : {}),
    ...(flags.targetVersion !== undefined
      ? { targetVersion: parseWith(targetVersionSchema, flags.targetVersion) }
      : {}),
    ...(flags.newKeyIds !== undefined ? { newKeyIds: parseWith(newKeyIdsSchema, flags.newKeyIds) } : {}),
    ...(flags.how !== undefined ? { how: parseWith(howSchema, flags.how) } : {}),
  };
}

/**
 * Checks the procedure and its flags and builds the workflow input; throws a usage error (one sentence)
 * for the first problem. Pure: nothing is sent anywhere.
 */
export function procedureRequest(
  procedureArg: string | undefined,
  flags: ProcedureFlags,
  env: Record<string, string | undefined>,
  requestedBy?: string,
): ProcedureRequest {
  const key = procedureKeyOf(procedureArg);
  const procedure = procedureByCommand(key)!;
  const { definition } = procedure;
  for (const [flag, option] of Object.entries(FLAG_OPTION) as [ProcedureFlag, keyof ProcedureFlags][]) {
    if (flags[option] !== undefined && !definition.flags.includes(flag)) {
      throw usageError(
        `${FLAG_HELP[flag].flag} does not apply to ${key}: it is for ${proceduresTaking(flag)}.`,
      );
    }
  }
  const id = clusterIdOf(flags, env);
  const checked = checkFlags(flags);
  const reencrypt = reencryptSettingsOf(flags);
  const estate = estateScopeOf(flags);
  const base: ProcedureInputBase = {
    clusterId: id,
    ...(flags.approve !== undefined ? { autoApprove: parseWith(approveSchema, flags.approve) } : {}),
    ...(requestedBy ? { requestedBy } : {}),
    ...(reencrypt ? { reencrypt } : {}),
    ...(estate ? { estate } : {}),
  };
  let input: ProcedureInputBase;
  try {
    input = definition.input(checked, base);
  } catch (err) {
    if (err instanceof ProcedureInputError) throw usageError(err.message);
    throw err;
  }
  const plan = { procedure: definition.name, input } as PlanRequest;
  return { key, workflow: procedure.workflow, clusterId: id, clusterName: parseClusterId(id).name, plan };
}

/** The inputs as `name: value` pairs for people (details in the Web UI, the start summary). */
export function describeInputs(request: ProcedureRequest): [string, string][] {
  const input = request.plan.input as unknown as Record<string, unknown>;
  return Object.entries(input)
    .filter(([name, value]) => value !== undefined && name !== 'clusterId')
    .map(([name, value]) => [name, typeof value === 'string' ? value : JSON.stringify(value)]);
}
