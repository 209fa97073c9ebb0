import * as fs from 'node:fs';
import * as path from 'node:path';
import { kmsflowCacheDir } from '../cache-dir';
import { portOrFree, startDevServer } from '../dev-server';
import { runWorker } from '../../worker/main';

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
