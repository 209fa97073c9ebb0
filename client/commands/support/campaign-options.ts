/**
 * The command-line options of a campaign, shared by `campaign plan|start` and `schedule create`: which
 * clusters, which stages, and how a run behaves (budget, approvals, maintenance windows, re-encryption).
 */
import * as fs from 'node:fs';
import { type Command, Option } from 'commander';
import { parse as parseYaml } from 'yaml';
import {
  type CampaignProcedure,
  type CampaignStage,
  CampaignInputError,
  checkStages,
  type ClusterSelection,
  DEFAULT_RECHECK_SECONDS,
  type ErrorBudget,
  parseBudget,
  parseFleetId,
  parseStage,
} from '../../../model/campaign';
import { clusterId, parseClusterId } from '../../../model/ids';
import type { CampaignInput } from '../../../workflows/campaign-messages';
import { RETIRE_STAGE, type RetireVersionInput } from '../../../workflows/retire-version';
import { PROCEDURE_COMMANDS, procedureByCommand, procedureNamed } from '../../../workflows/procedures';
import { type CheckedFlags, FLAG_HELP, type ProcedureFlag } from '../../../model/procedure-flags';
import { usageError } from './errors';
import {
  addRequesterOption,
  addTaskQueueOption,
  nonEmptyText,
  oneOf,
  requesterOf,
  seconds,
  collect,
} from './options';
import {
  addProcedureFlagOptions,
  addReencryptOptions,
  addEstateOptions,
  checkFlags,
  estateScopeOf,
  FLAG_OPTION,
  type ProcedureFlags,
  type ReencryptFlags,
  reencryptSettingsOf,
} from './procedure-request';

/** Without --stage: one canary, then the rest five at a time after an approval. */
export const DEFAULT_STAGES = ['canary size=1', 'rest concurrency=5 approval'];

export interface SelectionOptions {
  subscription: string[];
  resourceGroup?: string;
  tag: string[];
  clustersFile?: string;
  fleet?: string;
  stage: string[];
  taskQueue?: string;
}

/** What every campaign run takes beyond its selection: budget, approvals, windows, re-encryption, requester. */
export interface CampaignRunOptions
  extends
    SelectionOptions,
    ReencryptFlags,
    InputOptions,
    Pick<ProcedureFlags, 'estateSubscription' | 'assumeUnused' | 'acceptUnverified'> {
  maxFailures: ErrorBudget;
  approveStages?: string;
  autoApprove?: boolean;
  ignoreMaintenanceWindows?: boolean;
  busy?: 'skip' | 'wait';
  recheck?: number;
  healthChecks?: boolean;
  as?: string;
}

export const COMMANDS = PROCEDURE_COMMANDS;

export function procedureNamedCommand(name: CampaignProcedure): string {
  return procedureNamed(name)?.definition.command ?? name;
}

/** The procedure a command word names (`rotate`). */
export function campaignProcedure(command: string): CampaignProcedure {
  const procedure = procedureByCommand(command.trim())?.definition.name;
  if (!procedure) throw usageError(`A campaign runs one of ${COMMANDS.join(', ')}, not "${command}".`);
  return procedure;
}

export function addSelectionOptions(command: Command): Command {
  command
    .option(
      '--subscription <id>',
      'a subscription whose clusters are selected (repeat for several)',
      collect,
      [],
    )
    .option('--resource-group <name>', 'only clusters in this resource group', nonEmptyText('resource group'))
    .option('--tag <key=value>', 'only clusters with this tag (repeat: every tag must match)', collect, [])
    .option(
      '--clusters-file <file>',
      'only these clusters: a file with one AKS resource id per line (# comments)',
    )
    .option(
      '--fleet <resourceId>',
      'only the member clusters of this Azure Kubernetes Fleet Manager fleet (az fleet show -g RG -n NAME --query id -o tsv)',
      nonEmptyText('fleet id'),
    )
    .option(
      '--stage <spec>',
      `a stage, in order (repeat): "NAME [size=N|N%|rest|group=GROUP[,GROUP]] [concurrency=N|N%] [soak=10m] [approval[=before|after|both]] [max-failures=N|N%]" (default: ${DEFAULT_STAGES.map((s) => `"${s}"`).join(' ')})`,
      collect,
      [],
    );
  return addTaskQueueOption(command);
}

export function selectionOf(opts: SelectionOptions): ClusterSelection {
  const tags: Record<string, string> = {};
  for (const tag of opts.tag) {
    const [key, value] = tag.split('=', 2);
    if (!key || value === undefined)
      throw usageError(`--tag ${tag}: write it as key=value, e.g. --tag env=prod.`);
    tags[key] = value;
  }
  const clusterIds = opts.clustersFile ? clustersFromFile(opts.clustersFile) : undefined;
  if (opts.fleet) {
    try {
      parseFleetId(opts.fleet);
    } catch (err) {
      throw usageError(`--fleet ${(err as Error).message}`);
    }
  }
  if (opts.subscription.length === 0 && !clusterIds && !opts.fleet) {
    throw usageError(
      'Select clusters with --subscription <id> (and --resource-group, --tag to narrow), --fleet <fleet resource id> or --clusters-file <file>.',
    );
  }
  return {
    subscriptions: opts.subscription,
    ...(opts.resourceGroup ? { resourceGroup: opts.resourceGroup } : {}),
    ...(opts.tag.length ? { tags } : {}),
    ...(clusterIds ? { clusterIds } : {}),
    ...(opts.fleet ? { fleet: opts.fleet.trim() } : {}),
  };
}

function clustersFromFile(file: string): string[] {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw usageError(`Cannot read --clusters-file ${file}: ${(err as Error).message}.`);
  }
  const ids = text
    .split('\n')
    .map((line) => line.replace(/#.*/, '').trim())
    .filter(Boolean);
  if (ids.length === 0)
    throw usageError(`--clusters-file ${file} names no cluster: put one AKS resource id per line.`);
  return ids.map((id, i) => {
    try {
      return clusterId(parseClusterId(id));
    } catch (err) {
      throw usageError(`--clusters-file ${file} line ${i + 1}: ${(err as Error).message}`);
    }
  });
}

export function stagesOf(specs: string[]): CampaignStage[] {
  try {
    const stages = (specs.length ? specs : DEFAULT_STAGES).map(parseStage);
    checkStages(stages);
    return stages;
  } catch (err) {
    if (err instanceof CampaignInputError) throw usageError(err.message);
    throw err;
  }
}

/** The procedure's flags for every cluster, and the mapping file of flags per cluster (plan, start, schedule). */
export function addInputOptions(command: Command): Command {
  return addProcedureFlagOptions(command, 'for every cluster (a row of --inputs wins)').option(
    '--inputs <file>',
    'per-cluster flags: CSV with a header (cluster,key-id,mode,vault-id,target-version,how) or YAML/JSON ({ <cluster>: { key-id: …, … } }); a cluster is named by resource id or name',
  );
}

export type InputOptions = Pick<
  ProcedureFlags,
  'keyId' | 'mode' | 'vaultId' | 'targetVersion' | 'newKeyIds' | 'how'
> & { inputs?: string };

/** The flags for all and per cluster, checked against the procedure: what plan and start send. */
export function campaignInputs(
  procedure: CampaignProcedure,
  opts: InputOptions,
): Pick<CampaignInput, 'flags' | 'clusterFlags'> {
  const flags = checkFlags(opts);
  const definition = procedureNamed(procedure)!.definition;
  notForProcedure(flags, definition.flags, definition.command);
  const clusterFlags = opts.inputs ? clusterFlagsFromFile(opts.inputs, procedure) : undefined;
  return { ...(Object.keys(flags).length ? { flags } : {}), ...(clusterFlags ? { clusterFlags } : {}) };
}

/** Budget, approvals, maintenance windows, re-encryption settings and requester, on `command`. */
export function addCampaignRunOptions(command: Command): Command {
  command
    .addOption(
      new Option(
        '--max-failures <n>',
        'the error budget: stop starting clusters once more than n (or n% of the selected) clusters failed, were blocked or were not proven; a retried failure still counts (default 0)',
      )
        .argParser(budgetOf)
        .default({ maxFailures: 0 } satisfies ErrorBudget, '0'),
    )
    .option('--approve-stages <names>', "stage approvals given now: comma-separated stage names, or 'all'")
    .option(
      '--auto-approve',
      "approve every cluster procedure's own gates at start (retire's key retirement)",
    )
    .option(
      '--ignore-maintenance-windows',
      'start clusters outside their AKS maintenance window too (default: a cluster waits for its window)',
    )
    .option(
      '--busy <skip|wait>',
      'a cluster busy with another procedure: skip it with the reason (default), or wait until that procedure ended',
      oneOf(['skip', 'wait'] as const),
    )
    .option(
      '--no-health-checks',
      "skip the health check after each stage's soak (ARM's KMS state, the key version, /readyz, a sample of Secrets read back)",
    )
    .option(
      '--recheck <seconds>',
      `how often a busy cluster (another procedure, an ARM operation, stopped) is looked at again with --busy wait (default ${DEFAULT_RECHECK_SECONDS}); one outside its maintenance window waits until the window opens`,
      seconds(1, 86_400),
    );
  addInputOptions(command);
  addReencryptOptions(command);
  addEstateOptions(command);
  return addRequesterOption(command, 'who starts it');
}

function budgetOf(value: string): ErrorBudget {
  try {
    return parseBudget(value, '--max-failures');
  } catch (err) {
    if (err instanceof CampaignInputError) throw usageError(err.message);
    throw err;
  }
}

/** A mapping file's columns are the flags' names without their dashes (`key-id`): the option each one fills. */
const FLAG_COLUMNS: Record<string, keyof ProcedureFlags> = Object.fromEntries(
  (Object.entries(FLAG_OPTION) as [ProcedureFlag, keyof ProcedureFlags][]).map(([flag, option]) => [
    FLAG_HELP[flag].flag.slice(2),
    option,
  ]),
);

/** The mapping file: each cluster's flags, checked as `kmsflow start` checks them; keys are lower-case ids or names. */
function clusterFlagsFromFile(file: string, procedure: CampaignProcedure): Record<string, CheckedFlags> {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw usageError(`Cannot read --inputs ${file}: ${(err as Error).message}.`);
  }
  const rows: [string, Record<string, unknown>][] = [];
  if (file.endsWith('.csv')) {
    const [header, ...lines] = text
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#'));
    const columns = (header ?? '').split(',').map((c) => c.trim());
    if (columns[0] !== 'cluster')
      throw usageError(
        `--inputs ${file}: the first column must be "cluster", then any of ${Object.keys(FLAG_COLUMNS).join(', ')}.`,
      );
    for (const line of lines) {
      const cells = line.split(',').map((c) => c.trim());
      rows.push([
        cells[0]!,
        Object.fromEntries(
          columns
            .slice(1)
            .map((c, i) => [c, cells[i + 1]])
            .filter(([, v]) => v),
        ),
      ]);
    }
  } else {
    let parsed: unknown;
    try {
      parsed = parseYaml(text);
    } catch (err) {
      throw usageError(
        `--inputs ${file} is neither CSV (by its .csv name) nor YAML/JSON: ${(err as Error).message}`,
      );
    }
    if (!parsed || typeof parsed !== 'object')
      throw usageError(
        `--inputs ${file}: give a map of cluster to its flags, e.g. aks-prod-1: { key-id: https://… }.`,
      );
    for (const [cluster, flags] of Object.entries(parsed as Record<string, unknown>))
      rows.push([cluster, (flags ?? {}) as Record<string, unknown>]);
  }
  const definition = procedureNamed(procedure)!.definition;
  const out: Record<string, CheckedFlags> = {};
  for (const [cluster, values] of rows) {
    const flags: Record<string, string> = {};
    for (const [column, value] of Object.entries(values)) {
      const flag = FLAG_COLUMNS[column];
      if (!flag)
        throw usageError(
          `--inputs ${file}, cluster ${cluster}: unknown column "${column}"; use ${Object.keys(FLAG_COLUMNS).join(', ')}.`,
        );
      flags[flag] = String(value);
    }
    try {
      const checked = checkFlags(flags);
      notForProcedure(checked, definition.flags, definition.command);
      out[cluster.trim().toLowerCase()] = checked;
    } catch (err) {
      throw usageError(`--inputs ${file}, cluster ${cluster}: ${(err as Error).message}`);
    }
  }
  return out;
}

/** A flag the procedure does not take is a mistake, not something to ignore. */
function notForProcedure(flags: CheckedFlags, takes: readonly ProcedureFlag[], command: string): void {
  for (const flag of Object.keys(flags) as ProcedureFlag[]) {
    if (!takes.includes(flag)) throw usageError(`${FLAG_HELP[flag].flag} does not apply to ${command}.`);
  }
}

/** `campaign start retire-version`: not a procedure but rounds of rotate campaigns, then one retirement. */
export const RETIRE_VERSION = 'retire-version';

/**
 * The input of `campaign start retire-version --key-id V`: the subscriptions to search for V (the clusters are
 * found, not selected), the rounds' stages, budget and options, and whether the `retire` stage is pre-approved.
 */
export function retireVersionInput(
  campaignId: string,
  opts: CampaignRunOptions,
  env: Record<string, string | undefined>,
): RetireVersionInput {
  const { keyId, how } = checkFlags({ keyId: opts.keyId, how: opts.how });
  if (!keyId)
    throw usageError(
      `${RETIRE_VERSION} needs --key-id: the versioned key id to retire, ${FLAG_HELP.keyId.what}.`,
    );
  if (opts.resourceGroup || opts.tag.length || opts.clustersFile || opts.fleet)
    throw usageError(
      `${RETIRE_VERSION} finds every cluster that holds the version itself: give only the subscriptions to search (--subscription, repeat for several).`,
    );
  const others = (['mode', 'vaultId', 'targetVersion', 'newKeyIds', 'inputs'] as const).filter(
    (o) => opts[o] !== undefined,
  );
  if (others.length)
    throw usageError(`${RETIRE_VERSION} takes --key-id and --how only; --${others[0]} does not apply.`);
  const approvals = opts.approveStages?.split(',').map((s) => s.trim());
  const approveRetirement = opts.approveStages === 'all' || !!approvals?.includes(RETIRE_STAGE);
  const roundApprovals = approvals?.filter((s) => s !== RETIRE_STAGE).join(',');
  const {
    procedure: _procedure,
    selection,
    flags: _flags,
    clusterFlags: _clusterFlags,
    ...rounds
  } = campaignRunInput(
    'rotate-key',
    { ...opts, keyId: undefined, how: undefined, approveStages: roundApprovals || undefined },
    env,
  );
  return {
    campaignId,
    keyId,
    how: how ?? 'disable',
    subscriptions: selection.subscriptions,
    ...(approveRetirement ? { approveRetirement } : {}),
    rounds,
    ...(rounds.requestedBy ? { requestedBy: rounds.requestedBy } : {}),
  };
}

/** A campaign's input from its options, checked (stages, approvals, selection); the id is the caller's. */
export function campaignRunInput(
  procedure: CampaignProcedure,
  opts: CampaignRunOptions,
  env: Record<string, string | undefined>,
): Omit<CampaignInput, 'campaignId'> {
  const stages = stagesOf(opts.stage);
  const approveStages =
    opts.approveStages === 'all'
      ? 'all'
      : opts.approveStages
          ?.split(',')
          .map((s) => s.trim())
          .filter(Boolean);
  const unknown = Array.isArray(approveStages)
    ? approveStages.filter((name) => !stages.some((s) => s.name === name))
    : [];
  if (unknown.length)
    throw usageError(
      `--approve-stages names no stage ${unknown.join(', ')}: the stages are ${stages.map((s) => s.name).join(', ')}.`,
    );
  const reencrypt = reencryptSettingsOf(opts);
  const estate = estateScopeOf(opts);
  return {
    procedure,
    ...campaignInputs(procedure, opts),
    selection: selectionOf(opts),
    stages,
    errorBudget: opts.maxFailures,
    requestedBy: requesterOf(opts.as, env),
    ...(approveStages ? { autoApprove: approveStages } : {}),
    ...(opts.ignoreMaintenanceWindows ? { maintenanceWindows: 'ignore' as const } : {}),
    ...(opts.busy ? { busyClusters: opts.busy } : {}),
    ...(opts.recheck !== undefined ? { recheckSeconds: opts.recheck } : {}),
    ...(opts.healthChecks === false ? { healthChecks: false } : {}),
    procedureOptions: {
      ...(opts.autoApprove ? { autoApprove: 'all' as const } : {}),
      ...(estate ? { estate } : {}),
      ...(reencrypt ? { reencrypt } : {}),
    },
  };
}
