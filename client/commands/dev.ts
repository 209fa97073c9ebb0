import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Command } from 'commander';
import { kmsflowCacheDir } from '../cache-dir';
import { portOrFree, startDevServer } from '../dev-server';
import { ExitCode } from '../exit-codes';
import { runWorker } from '../../worker/main';
import { addExamples, wholeNumber } from './support/options';
import type { CommandModule } from './support/runtime';

export interface DevOptions {
  port?: number;
  uiPort?: number;
  ui: boolean;
  /** SQLite file of the dev server; kept across runs so history survives a restart. */
  db?: string;
  activities: object;
}

/** The embedded default: a Temporal dev server with its Web UI and a worker, until Ctrl-C. */
export async function runDev(options: DevOptions): Promise<void> {
  const db = options.db ?? path.join(kmsflowCacheDir(), 'dev', 'temporal.db');
  fs.mkdirSync(path.dirname(db), { recursive: true });
  const server = await startDevServer({
    ui: options.ui,
    port: options.port ?? (await portOrFree(7233)),
    uiPort: options.uiPort ?? (await portOrFree(8233)),
    dbFile: db,
    log: console.log,
  });
  console.log(`Temporal address: ${server.address}  (export TEMPORAL_ADDRESS=${server.address})`);
  if (server.uiUrl) console.log(`Temporal Web UI:  ${server.uiUrl}`);
  console.log('Press Ctrl-C to stop.');
  try {
    await runWorker({
      target: { connectionOptions: { address: server.address }, namespace: server.namespace },
      activities: options.activities,
    });
  } finally {
    await server.stop();
  }
}

export const devCommand: CommandModule = {
  register(program: Command, runtime) {
    const command = program
      .command('dev')
      .description('Start a local Temporal dev server with its Web UI and a kmsflow worker (the embedded default).')
      .option('--port <port>', 'Temporal frontend port (default: 7233, or a free port when taken)', wholeNumber(1, 65535))
      .option('--ui-port <port>', 'Web UI port (default: 8233, or a free port when taken)', wholeNumber(1, 65535))
      .option('--no-ui', 'run the dev server without its Web UI')
      .option('--db <file>', 'dev server database file (default: ~/.cache/kmsflow/dev/temporal.db)');
    addExamples(command, ['kmsflow dev', 'kmsflow dev --ui-port 8233 --port 7233']);
    command.action(
      runtime.action(async (_ctx, opts: { port?: number; uiPort?: number; ui: boolean; db?: string }) => {
        await runDev({ ...opts, activities: {} });
        return ExitCode.success;
      }),
    );
  },
};
