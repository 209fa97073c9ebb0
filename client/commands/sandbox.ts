/** `kmsflow sandbox start|inspect|faults`: thin commands over sandbox/main.ts. */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import type { Command } from 'commander';
import { DEFAULT_SANDBOX_ENV_FILE, SANDBOX_ENV_FILE_VARIABLE } from '../../worker/activity-source';
import { ExitCode } from '../exit-codes';
import { loadSandboxMain } from './support/lazy';
import { CliError, usageError } from './support/errors';
import { addExamples, addJsonOption, nonEmptyText, wholeNumber } from './support/options';
import type { CliIo, CommandContext, CommandModule } from './support/runtime';

interface StartOptions {
  scenario: string;
  port?: number;
  stateDir?: string;
  sandboxEnv: string;
}

/**
 * The env file option is `--sandbox-env`, not `--env-file`: Node 20 takes `--env-file` anywhere on its
 * command line as its own option, even after the script name.
 */
interface TargetOptions {
  sandboxEnv?: string;
}

/** The env file a command reads: --sandbox-env, else $KMSFLOW_SANDBOX_ENV, else the default path when it exists. */
function envFileOf(opts: TargetOptions, env: CliIo['env']): string | undefined {
  const file =
    opts.sandboxEnv ??
    (env[SANDBOX_ENV_FILE_VARIABLE]?.trim() ||
      (existsSync(DEFAULT_SANDBOX_ENV_FILE) ? DEFAULT_SANDBOX_ENV_FILE : undefined));
  if (file !== undefined && !existsSync(file)) {
    throw usageError(
      `No sandbox env file at ${file}: start a sandbox with \`kmsflow sandbox start --sandbox-env ${file}\`, or name its file with --sandbox-env.`,
    );
  }
  if (file === undefined && !env.KMSFLOW_SANDBOX_ADMIN_URL) {
    throw usageError(
      `No sandbox found: start one with \`kmsflow sandbox start\`, or name its env file with --sandbox-env or $${SANDBOX_ENV_FILE_VARIABLE}.`,
    );
  }
  return file;
}

/** A refused connection to the admin endpoint means the sandbox is gone; say so in one sentence. */
async function adminErrors<T>(file: string | undefined, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    const message = (err as Error).message;
    if ((err as NodeJS.ErrnoException).code === 'ECONNREFUSED') {
      throw new CliError(
        ExitCode.error,
        `The sandbox of ${file ?? 'the environment'} does not answer (${message}): is \`kmsflow sandbox start\` still running?`,
      );
    }
    if (/^sandbox admin \S+ \S+: 404/.test(message))
      throw new CliError(ExitCode.notFound, message.replace(/\.?$/, '.'));
    // The sandbox validates what it is given (fault rules, kube faults): a 400 is bad input.
    if (/^sandbox admin \S+ \S+: 400/.test(message)) throw usageError(message.replace(/\.?$/, '.'));
    throw new CliError(ExitCode.error, message);
  }
}

function jsonArgument(what: string, text: string | undefined): string {
  if (text === undefined)
    throw usageError(
      `Give the ${what} as JSON, e.g. '{"service":"arm","method":"PUT","count":1,"action":{"kind":"error","status":500}}'.`,
    );
  try {
    JSON.parse(text);
  } catch (err) {
    throw usageError(`The ${what} is not valid JSON (${(err as Error).message}): quote it in single quotes.`);
  }
  return text;
}

async function runSandbox(ctx: CommandContext, opts: StartOptions): Promise<number> {
  const { sandboxStartCommand } = await loadSandboxMain();
  mkdirSync(path.dirname(path.resolve(opts.sandboxEnv)), { recursive: true });
  const scenario =
    opts.scenario === 'demo' || opts.scenario === 'empty' ? opts.scenario : path.resolve(opts.scenario);
  if (scenario !== opts.scenario && !existsSync(scenario))
    throw usageError(
      `No scenario file at ${opts.scenario}: give a YAML or JSON scenario file (see sandbox/README.md), or demo.`,
    );
  let sandbox;
  try {
    sandbox = await sandboxStartCommand({
      scenario,
      port: opts.port,
      stateDir: opts.stateDir,
      envFile: opts.sandboxEnv,
      print: (line) => ctx.out.line(line),
    });
  } catch (err) {
    throw usageError(`The sandbox did not start: ${(err as Error).message.replace(/\.?$/, '.')}`);
  }
  ctx.out.line('');
  ctx.out.line(
    `Use it: kmsflow worker --sandbox-env ${opts.sandboxEnv}   (or export ${SANDBOX_ENV_FILE_VARIABLE}=${opts.sandboxEnv})`,
  );
  ctx.out.line('Press Ctrl-C to stop.');
  await new Promise<void>((resolve) => {
    const dispose = ctx.io.onInterrupt?.(() => {
      dispose?.();
      resolve();
    });
  });
  await sandbox.close();
  ctx.out.note('Sandbox stopped.');
  return ExitCode.success;
}

const FAULT_ACTIONS = ['list', 'add', 'set', 'clear', 'remove', 'kube'] as const;
type FaultAction = (typeof FAULT_ACTIONS)[number];

export const sandboxCommand: CommandModule = {
  register(program: Command, runtime) {
    const sandbox = program
      .command('sandbox')
      .description(
        'Run and look into the local sandbox: emulated Azure Resource Manager, Key Vault and Kubernetes API servers on 127.0.0.1.',
      );
    addExamples(sandbox, [
      'kmsflow sandbox start                          # the demo scenario; writes .kmsflow/sandbox.env',
      'kmsflow sandbox inspect --cluster aks-legacy',
      'kmsflow sandbox faults add \'{"service":"arm","method":"PUT","count":1,"action":{"kind":"error","status":500}}\'',
    ]);

    const start = sandbox
      .command('start')
      .description(
        'Start the sandbox and write its env file (endpoints, CA, principal) for workers and the CLI; runs until Ctrl-C.',
      )
      .option(
        '--scenario <file|demo|empty>',
        'the estate to create: a YAML/JSON scenario file, demo or empty (default demo)',
        nonEmptyText('scenario'),
        'demo',
      )
      .option(
        '--port <port>',
        'port on 127.0.0.1 (default: the persisted one, else a free port)',
        wholeNumber(1, 65535),
      )
      .option(
        '--state-dir <dir>',
        'keep the state (CA, Azure resources, Secrets) here across restarts',
        nonEmptyText('state directory'),
      )
      .option(
        '--sandbox-env <file>',
        `where to write the env file (default ${DEFAULT_SANDBOX_ENV_FILE})`,
        nonEmptyText('env file'),
        DEFAULT_SANDBOX_ENV_FILE,
      );
    addExamples(start, [
      'kmsflow sandbox start',
      'kmsflow sandbox start --scenario estate.yaml --state-dir .kmsflow/state --port 8443',
    ]);
    start.action(runtime.action(async (ctx, opts: StartOptions) => runSandbox(ctx, opts)));

    const inspect = sandbox
      .command('inspect')
      .description(
        "Show the sandbox's clusters, vaults and identities, or one cluster: key slots, what etcd stores under which key, operations.",
      )
      .option('--cluster <name>', 'one cluster in detail', nonEmptyText('cluster'))
      .option('--entries', 'with --cluster --json: every Secret and the key it is stored under')
      .option(
        '--sandbox-env <file>',
        `the sandbox's env file (default $${SANDBOX_ENV_FILE_VARIABLE}, else ${DEFAULT_SANDBOX_ENV_FILE})`,
        nonEmptyText('env file'),
      );
    addJsonOption(inspect);
    addExamples(inspect, [
      'kmsflow sandbox inspect',
      'kmsflow sandbox inspect --cluster aks-legacy --json --entries | jq ".etcd.byProvider"',
    ]);
    inspect.action(
      runtime.action(
        async (ctx, opts: TargetOptions & { cluster?: string; entries?: boolean; json?: boolean }) => {
          const envFile = envFileOf(opts, ctx.io.env);
          const { sandboxInspectCommand } = await loadSandboxMain();
          await adminErrors(envFile, () =>
            sandboxInspectCommand({
              envFile,
              cluster: opts.cluster,
              entries: opts.entries,
              json: opts.json,
              print: (line) => ctx.out.line(line),
            }),
          );
          return ExitCode.success;
        },
      ),
    );

    const kubeconfig = sandbox
      .command('kubeconfig')
      .description(
        "Print (or write) a sandbox cluster's kubeconfig, as `az aks get-credentials` gets it (ARM listClusterUserCredential), for kubectl.",
      )
      .requiredOption('--cluster <name>', 'the cluster', nonEmptyText('cluster'))
      .option(
        '--resource-group <name>',
        "the cluster's resource group (default: the only cluster with that name)",
        nonEmptyText('resource group'),
      )
      .option(
        '--file <path>',
        'write it to this file (mode 600) instead of printing it',
        nonEmptyText('file'),
      )
      .option(
        '--sandbox-env <file>',
        `the sandbox's env file (default $${SANDBOX_ENV_FILE_VARIABLE}, else ${DEFAULT_SANDBOX_ENV_FILE})`,
        nonEmptyText('env file'),
      );
    addExamples(kubeconfig, [
      'kmsflow sandbox kubeconfig --cluster aks-modern --file .kmsflow/aks-modern.kubeconfig',
      'export KUBECONFIG=$PWD/.kmsflow/aks-modern.kubeconfig',
      "kubectl get secrets --all-namespaces -o json | kubectl replace -f -    # the article's storage migration",
    ]);
    kubeconfig.action(
      runtime.action(
        async (ctx, opts: TargetOptions & { cluster: string; resourceGroup?: string; file?: string }) => {
          const envFile = envFileOf(opts, ctx.io.env);
          const { sandboxKubeconfig } = await loadSandboxMain();
          const text = await adminErrors(envFile, () =>
            sandboxKubeconfig({ envFile, cluster: opts.cluster, resourceGroup: opts.resourceGroup }),
          );
          if (!opts.file) {
            ctx.out.raw(text);
            return ExitCode.success;
          }
          mkdirSync(path.dirname(path.resolve(opts.file)), { recursive: true });
          writeFileSync(opts.file, text, { mode: 0o600 });
          ctx.out.note(
            `Wrote the kubeconfig of ${opts.cluster} to ${opts.file}: export KUBECONFIG=${path.resolve(opts.file)}`,
          );
          return ExitCode.success;
        },
      ),
    );

    const faults = sandbox
      .command('faults')
      .argument('[action]', `${FAULT_ACTIONS.join(', ')} (default list)`)
      .argument('[arg]', 'add/set: the rule(s) as JSON; remove: the rule id; kube: the cluster name')
      .argument('[json]', 'kube: the Kubernetes faults as JSON (omit to show them)')
      .description(
        'List, add, replace, remove or clear the fault rules of the running sandbox, or set Kubernetes faults of a cluster.',
      )
      .option(
        '--sandbox-env <file>',
        `the sandbox's env file (default $${SANDBOX_ENV_FILE_VARIABLE}, else ${DEFAULT_SANDBOX_ENV_FILE})`,
        nonEmptyText('env file'),
      );
    addExamples(faults, [
      'kmsflow sandbox faults',
      'kmsflow sandbox faults add \'{"service":"kube","method":"PUT","count":3,"action":{"kind":"throttle","retryAfterSeconds":1}}\'',
      'kmsflow sandbox faults kube aks-legacy \'{"expireContinueAfterPages":3}\'',
      'kmsflow sandbox faults clear',
    ]);
    faults.action(
      runtime.action(
        async (
          ctx,
          action: string | undefined,
          arg: string | undefined,
          json: string | undefined,
          opts: TargetOptions,
        ) => {
          const verb = (action ?? 'list').trim().toLowerCase() as FaultAction;
          if (!FAULT_ACTIONS.includes(verb))
            throw usageError(`Unknown faults action "${action}": use one of ${FAULT_ACTIONS.join(', ')}.`);
          const request = {
            action: verb,
            spec: undefined as string | undefined,
            id: undefined as string | undefined,
            cluster: undefined as string | undefined,
          };
          if (verb === 'add') request.spec = jsonArgument('fault rule', arg);
          if (verb === 'set') request.spec = jsonArgument('fault rule set ({"seed":1,"rules":[...]})', arg);
          if (verb === 'remove') {
            if (!arg?.trim())
              throw usageError(
                'Name the rule to remove: kmsflow sandbox faults remove <id> (`kmsflow sandbox faults` lists the ids).',
              );
            request.id = arg.trim();
          }
          if (verb === 'kube') {
            if (!arg?.trim())
              throw usageError('Name the cluster: kmsflow sandbox faults kube <cluster> [json].');
            request.cluster = arg.trim();
            if (json !== undefined) request.spec = jsonArgument('Kubernetes faults', json);
          }
          const envFile = envFileOf(opts, ctx.io.env);
          const { sandboxFaultsCommand } = await loadSandboxMain();
          await adminErrors(envFile, () =>
            sandboxFaultsCommand({ envFile, ...request, print: (line) => ctx.out.line(line) }),
          );
          return ExitCode.success;
        },
      ),
    );
  },
};
