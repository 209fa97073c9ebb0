import { Command, CommanderError } from 'commander';
import { approveCommand } from './commands/approve';
import { campaignCommand } from './commands/campaign';
import { cancelCommand } from './commands/cancel';
import { devCommand } from './commands/dev';
import { keysCommand } from './commands/keys';
import { listCommand } from './commands/list';
import { pauseCommand } from './commands/pause';
import { planCommand } from './commands/plan';
import { reportCommand } from './commands/report';
import { resumeCommand } from './commands/resume';
import { retryCommand } from './commands/retry';
import { sandboxCommand } from './commands/sandbox';
import { scheduleCommand } from './commands/schedule';
import { demoCommand } from './commands/demo';
import { setupCommand } from './commands/setup';
import { codecServerCommand } from './commands/codec-server';
import { startCommand } from './commands/start';
import { statusCommand } from './commands/status';
import { addConnectionOptions } from './commands/support/connection';
import { CliError } from './commands/support/errors';
import { type CliIo, type CommandModule, CliRuntime } from './commands/support/runtime';
import { versionsCommand } from './commands/versions';
import { watchCommand } from './commands/watch';
import { workerCommand } from './commands/worker';
import { ExitCode } from './exit-codes';
import { createOutput } from './output/output';

export type { CliIo } from './commands/support/runtime';

/** Every command, in the order `kmsflow --help` lists them. A new command is one module added here. */
export const COMMANDS: readonly CommandModule[] = [
  planCommand,
  startCommand,
  statusCommand,
  watchCommand,
  listCommand,
  approveCommand,
  pauseCommand,
  resumeCommand,
  retryCommand,
  cancelCommand,
  keysCommand,
  reportCommand,
  campaignCommand,
  scheduleCommand,
  workerCommand,
  versionsCommand,
  devCommand,
  sandboxCommand,
  demoCommand,
  setupCommand,
  codecServerCommand,
];

export function buildProgram(runtime: CliRuntime, onCommanderError: (message: string) => void): Command {
  const { io } = runtime;
  const program = new Command('kmsflow')
    .description('Durable, provable AKS KMS etcd-encryption procedures on Temporal.')
    .exitOverride()
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(text),
      // Commander's own errors (missing argument, invalid value) are printed by `main`, like every other error.
      outputError: (text) => onCommanderError(text),
      getOutHelpWidth: () => io.columns ?? 100,
      getErrHelpWidth: () => io.columns ?? 100,
    })
    .configureHelp({ showGlobalOptions: true });
  addConnectionOptions(program);
  program.addHelpText(
    'after',
    '\nExit codes: 0 success, 1 unexpected error, 2 usage error, 3 waiting for an operator, 4 failed or cancelled, 5 not found.\n' +
      'Temporal is found through --address/--namespace/--profile, else TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_PROFILE\n' +
      'and the Temporal config file, else localhost:7233. Colours only on a terminal, never with NO_COLOR set.\n' +
      "\nA procedure is named by its workflow id or by its cluster's resource id.\n" +
      '\nExamples:\n  kmsflow list --status running\n  CLUSTER_ID=$(az aks show -g rg-prod -n aks-prod-1 --query id -o tsv)\n' +
      '  kmsflow plan enable --cluster "$CLUSTER_ID" --key-id "$KEY_ID"\n  kmsflow start enable --cluster "$CLUSTER_ID" --key-id "$KEY_ID" --watch\n' +
      '  kmsflow status "$CLUSTER_ID"\n  kmsflow watch "$CLUSTER_ID"\n  kmsflow approve "$CLUSTER_ID" --as alice\n  kmsflow report "$CLUSTER_ID"\n  kmsflow keys "$CLUSTER_ID"',
  );
  for (const command of COMMANDS) command.register(program, runtime);
  return program;
}

/** Commander's message as one sentence: `error: missing required argument 'x'` → `Missing required argument 'x'.` */
function commanderSentence(text: string): string {
  const message = text.replace(/^error:\s*/i, '').trim();
  const sentence = message.charAt(0).toUpperCase() + message.slice(1);
  return `${/[.!?]$/.test(sentence) ? sentence : `${sentence}.`} Add --help for usage and examples.`;
}

/**
 * Runs the CLI with `argv` (the arguments after `kmsflow`) against the given terminal and returns the exit
 * code; it never calls `process.exit`, so tests drive it in-process.
 */
export async function main(argv: string[], io: CliIo = processIo()): Promise<number> {
  const runtime = new CliRuntime(io);
  let commanderMessage: string | undefined;
  const program = buildProgram(runtime, (text) => (commanderMessage = text));
  try {
    await program.parseAsync(argv, { from: 'user' });
    return runtime.exitCode;
  } catch (err) {
    // An option's parser may refuse a value with a sentence of its own (`--max-failures`'s budget).
    if (err instanceof CliError) {
      createOutput(io, { json: argv.includes('--json') }).error(err.exitCode, err.message);
      return err.exitCode;
    }
    if (!(err instanceof CommanderError)) throw err;
    if (
      err.code === 'commander.helpDisplayed' ||
      err.code === 'commander.version' ||
      err.code === 'commander.help'
    ) {
      return ExitCode.success;
    }
    const out = createOutput(io, { json: argv.includes('--json') });
    out.error(ExitCode.usage, commanderSentence(commanderMessage ?? err.message));
    return ExitCode.usage;
  }
}

/** The real terminal of this process. */
export function processIo(): CliIo {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    isTTY: process.stdout.isTTY === true,
    columns: process.stdout.columns,
    onInterrupt(handler) {
      process.on('SIGINT', handler);
      return () => process.off('SIGINT', handler);
    },
  };
}

/**
 * Exits once stdout and stderr have handed everything to the OS. A pipe takes only what its buffer holds
 * (64 KiB here) and Node queues the rest, so an immediate `process.exit` would cut piped output short;
 * the exit cannot simply wait for the event loop to empty either, as SDK connections keep it alive.
 */
export function exitAfterFlush(code: number): void {
  process.exitCode = code;
  let pending = 2;
  const flushed = () => {
    pending -= 1;
    if (pending === 0) process.exit(code);
  };
  process.stdout.write('', flushed);
  process.stderr.write('', flushed);
}

if (require.main === module) {
  main(process.argv.slice(2)).then(exitAfterFlush, (err: unknown) => {
    process.stderr.write(`kmsflow: ${err instanceof Error ? err.message : String(err)}\n`);
    exitAfterFlush(ExitCode.error);
  });
}
