/** Option parsing shared by the commands: one spelling and one error sentence for each kind of value. */
import { type Command, InvalidArgumentError } from 'commander';
import { clusterId, parseClusterId } from '../../../model/ids';
import { procedureWorkflowId, TASK_QUEUE } from '../../../workflows/messages';
import { usageError } from './errors';

export function addJsonOption(command: Command): Command {
  return command.option('--json', 'print machine-readable JSON instead of text (shapes in docs/cli.md)');
}

/** Every procedure on a cluster shares one workflow id; `--run` names one of its runs (`kmsflow list --cluster` shows them). */
export function addRunOption(command: Command): Command {
  return command.option(
    '--run <runId>',
    'an earlier procedure run on the same cluster (default: the latest); `kmsflow list --cluster` shows the run ids',
    nonEmptyText('run id'),
  );
}

export function addRequesterOption(
  command: Command,
  what = 'who asks',
  recordedIn = 'the procedure',
): Command {
  return command.option('--as <name>', `${what}, recorded in ${recordedIn} (default: $USER)`);
}

export function addExamples(command: Command, examples: string[]): Command {
  return command.addHelpText('after', `\nExamples:\n${examples.map((e) => `  ${e}`).join('\n')}`);
}

export function wholeNumber(min: number, max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!/^\d+$/.test(value.trim()) || n < min || n > max) {
      throw new InvalidArgumentError(`Give a whole number from ${min} to ${max}.`);
    }
    return n;
  };
}

export function seconds(min: number, max: number) {
  return (value: string): number => {
    const n = Number(value.trim().replace(/s$/, ''));
    if (!Number.isFinite(n) || n < min || n > max) {
      throw new InvalidArgumentError(`Give a number of seconds from ${min} to ${max}, e.g. 1 or 0.5.`);
    }
    return n;
  };
}

/** A repeatable option's values, in the order given. */
export const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

export function multiple(min: number, max: number) {
  return (value: string): number => {
    const n = Number(value.trim().replace(/x$/i, ''));
    if (!Number.isFinite(n) || n < min || n > max)
      throw new InvalidArgumentError(`Give a multiple from ${min} to ${max}, e.g. 3.`);
    return n;
  };
}

export function oneOf<T extends string>(values: readonly T[]) {
  return (value: string): T => {
    const v = value.trim().toLowerCase() as T;
    if (!values.includes(v)) throw new InvalidArgumentError(`Use one of ${values.join(', ')}.`);
    return v;
  };
}

export function nonEmptyText(what: string) {
  return (value: string): string => {
    if (value.trim() === '') throw new InvalidArgumentError(`The ${what} must not be empty.`);
    return value.trim();
  };
}

export const WORKFLOW_ID_HELP =
  'the procedure: its workflow id (`kmsflow list` shows them) or the AKS cluster\'s resource id, e.g. "$(az aks show -g RG -n NAME --query id -o tsv)"';

/**
 * The procedure a command names: a workflow id as typed, or an AKS cluster's resource id, which names the
 * cluster's procedure (one per cluster at a time).
 */
export function workflowIdArgument(value: string | undefined, command: string): string {
  const id = value?.trim() ?? '';
  if (id === '')
    throw usageError(`Name the procedure: kmsflow ${command} <workflowId> (\`kmsflow list\` shows the ids).`);
  if (id.toLowerCase().startsWith('/subscriptions/')) {
    try {
      return procedureWorkflowId(clusterId(parseClusterId(id)));
    } catch {
      // Not a cluster id after all: take it as a workflow id.
    }
  }
  return id;
}

/** Who runs an operator command: `--as`, else the login name from the environment. */
export function requesterOf(as: string | undefined, env: Record<string, string | undefined>): string {
  const name = as?.trim() || env.USER?.trim() || env.LOGNAME?.trim() || env.USERNAME?.trim();
  if (!name) throw usageError('Say who you are with --as NAME: $USER is not set.');
  return name;
}

export const TASK_QUEUE_VARIABLE = 'KMSFLOW_TASK_QUEUE';

/** `--task-queue`: the queue kmsflow's workers poll (default $KMSFLOW_TASK_QUEUE, else `kmsflow`). */
export function addTaskQueueOption(command: Command): Command {
  return command.option(
    '--task-queue <name>',
    `the task queue kmsflow workers poll (default: $${TASK_QUEUE_VARIABLE} or ${TASK_QUEUE})`,
    nonEmptyText('task queue'),
  );
}

export function taskQueueOf(flag: string | undefined, env: Record<string, string | undefined>): string {
  return flag ?? (env[TASK_QUEUE_VARIABLE]?.trim() || TASK_QUEUE);
}
