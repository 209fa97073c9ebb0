import { Command, InvalidArgumentError } from 'commander';
import { runDev } from './commands/dev';
import { ExitCode } from './exit-codes';
import { findOrBuildTemporalCli } from './temporal-cli';
import { runWorker } from '../worker/main';

function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw new InvalidArgumentError('a port is a whole number from 1 to 65535.');
  return n;
}

export function buildProgram(): Command {
  const program = new Command('kmsflow')
    .description('Durable, provable AKS KMS etcd-encryption procedures on Temporal.')
    .showHelpAfterError()
    .exitOverride();

  program
    .command('dev')
    .description('Start a local Temporal dev server with its Web UI and a kmsflow worker (the embedded default).')
    .option('--port <port>', 'Temporal frontend port (default: 7233, or a free port when taken)', port)
    .option('--ui-port <port>', 'Web UI port (default: 8233, or a free port when taken)', port)
    .option('--no-ui', 'run the dev server without its Web UI')
    .option('--db <file>', 'dev server database file (default: ~/.cache/kmsflow/dev/temporal.db)')
    .addHelpText('after', '\nExamples:\n  kmsflow dev\n  kmsflow dev --ui-port 8233 --port 7233')
    .action(async (opts: { port?: number; uiPort?: number; ui: boolean; db?: string }) => {
      await runDev({ ...opts, activities: {} });
    });

  program
    .command('setup')
    .description('Find or build the tools kmsflow runs locally (the Temporal CLI, built once with Go and cached).')
    .action(async () => {
      const cli = await findOrBuildTemporalCli(console.log);
      console.log(`temporal CLI: ${cli}`);
    });

  program
    .command('worker')
    .description('Run a kmsflow worker against the Temporal service named by TEMPORAL_ADDRESS / TEMPORAL_NAMESPACE / profiles.')
    .addHelpText('after', '\nExamples:\n  TEMPORAL_ADDRESS=temporal.internal:7233 kmsflow worker')
    .action(async () => {
      await runWorker({ activities: {} });
    });

  return program;
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv, { from: 'user' });
    return ExitCode.success;
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'commander.helpDisplayed' || code === 'commander.version' || code === 'commander.help') return ExitCode.success;
    if (typeof code === 'string' && code.startsWith('commander.')) return ExitCode.usage;
    console.error(`kmsflow: ${err instanceof Error ? err.message : String(err)}`);
    return ExitCode.error;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then((code) => process.exit(code));
}
