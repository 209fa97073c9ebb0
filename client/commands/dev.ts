import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Command } from 'commander';
import { kmsflowCacheDir } from '../cache-dir';
import { portOrFree, startDevServer } from '../dev-server';
import { ExitCode } from '../exit-codes';
import { connectClient } from '../../temporal/connection';
import type { ActivitySource } from '../../worker/activity-source';
import { loadActivitiesFromEnv, loadWorkerMain } from './support/lazy';
import {
  type ActivityFlags,
  addActivityOptions,
  pollIntervalMs,
  resolveActivitySource,
} from './support/activity-options';
import { addExamples, wholeNumber } from './support/options';
import type { CommandModule } from './support/runtime';

export interface DevOptions {
  port?: number;
  uiPort?: number;
  ui: boolean;
  /** SQLite file of the dev server; kept across runs so history survives a restart. */
  db?: string;
  /** Which clients the worker's activities use (see worker/activities-from-env.ts). */
  source: ActivitySource;
  pollIntervalMs?: number;
  log?: (line: string) => void;
}

/** The embedded default: a Temporal dev server with its Web UI and a worker, until Ctrl-C. */
export async function runDev(options: DevOptions): Promise<void> {
  const log = options.log ?? console.log;
  const { runWorker } = await loadWorkerMain();
  const { buildActivities, describeSource } = await loadActivitiesFromEnv();
  const db = options.db ?? path.join(kmsflowCacheDir(), 'dev', 'temporal.db');
  fs.mkdirSync(path.dirname(db), { recursive: true });
  const server = await startDevServer({
    ui: options.ui,
    port: options.port ?? (await portOrFree(7233)),
    uiPort: options.uiPort ?? (await portOrFree(8233)),
    dbFile: db,
    log,
  });
  log(`Temporal address: ${server.address}  (export TEMPORAL_ADDRESS=${server.address})`);
  if (server.uiUrl) log(`Temporal Web UI:  ${server.uiUrl}  (export KMSFLOW_UI_URL=${server.uiUrl})`);
  log(`Activities act on ${describeSource(options.source)}.`);
  log('Press Ctrl-C to stop.');
  const target = { connectionOptions: { address: server.address }, namespace: server.namespace };
  try {
    const ledgerClient = await connectClient(target);
    try {
      await runWorker({
        target,
        activities: buildActivities({
          source: options.source,
          temporal: ledgerClient,
          pollIntervalMs: options.pollIntervalMs,
        }),
        client: ledgerClient,
        log,
      });
    } finally {
      await ledgerClient.connection.close();
    }
  } finally {
    await server.stop();
  }
}

type DevCommandOptions = ActivityFlags & { port?: number; uiPort?: number; ui: boolean; db?: string };

export const devCommand: CommandModule = {
  register(program: Command, runtime) {
    const command = program
      .command('dev')
      .description(
        'Start a local Temporal dev server with its Web UI and a kmsflow worker (the embedded default).',
      )
      .option(
        '--port <port>',
        'Temporal frontend port (default: 7233, or a free port when taken)',
        wholeNumber(1, 65535),
      )
      .option(
        '--ui-port <port>',
        'Web UI port (default: 8233, or a free port when taken)',
        wholeNumber(1, 65535),
      )
      .option('--no-ui', 'run the dev server without its Web UI')
      .option('--db <file>', 'dev server database file (default: ~/.cache/kmsflow/dev/temporal.db)');
    addActivityOptions(command);
    addExamples(command, ['kmsflow dev', 'kmsflow dev --sandbox', 'kmsflow dev --ui-port 8233 --port 7233']);
    command.action(
      runtime.action(async (ctx, opts: DevCommandOptions) => {
        const source = resolveActivitySource(opts, ctx.io.env);
        await runDev({
          port: opts.port,
          uiPort: opts.uiPort,
          ui: opts.ui,
          db: opts.db,
          source,
          pollIntervalMs: pollIntervalMs(opts),
        });
        return ExitCode.success;
      }),
    );
  },
};
