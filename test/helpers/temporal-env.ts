import * as path from 'node:path';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import {
  bundleWorkflowCode,
  DefaultLogger,
  type LogEntry,
  makeTelemetryFilterString,
  Runtime,
  type WorkflowBundleWithSourceMap,
} from '@temporalio/worker';
import { startDevServer, type DevServer } from '../../client/dev-server';

export interface TemporalTestEnv {
  server: DevServer;
  env: TestWorkflowEnvironment;
  teardown(): Promise<void>;
}

let runtimeInstalled = false;

/** Keeps the SDK's INFO chatter (worker state changes) out of test output. */
export function installQuietRuntime(): void {
  if (runtimeInstalled) return;
  Runtime.install({ logger: new DefaultLogger('WARN') });
  runtimeInstalled = true;
}

/**
 * For a test that provokes warnings on purpose (e.g. a nondeterminism control) or scans what workers log:
 * the SDK's and the native core's log lines at `level` and above go to the returned list instead of the
 * test output, for the test to assert on. Call it first in the file, instead of installQuietRuntime.
 */
export function installCollectingRuntime(level: 'DEBUG' | 'INFO' | 'WARN' = 'WARN'): LogEntry[] {
  const entries: LogEntry[] = [];
  Runtime.install({
    logger: new DefaultLogger(level, (entry) => void entries.push(entry)),
    telemetryOptions: { logging: { filter: makeTelemetryFilterString({ core: level }), forward: {} } },
  });
  runtimeInstalled = true;
  return entries;
}

/** One real `temporal server start-dev` per test file (headless, free ports), torn down in afterAll. */
export async function startTemporalTestEnv(options: { ui?: boolean } = {}): Promise<TemporalTestEnv> {
  installQuietRuntime();
  const server = await startDevServer({ ui: options.ui, log: (line) => console.log(line) });
  try {
    const env = await TestWorkflowEnvironment.createFromExistingServer({
      address: server.address,
      namespace: server.namespace,
    });
    return {
      server,
      env,
      async teardown() {
        await env.teardown();
        await server.stop();
      },
    };
  } catch (err) {
    await server.stop();
    throw err;
  }
}

export function bundleTestWorkflows(relativePath: string): Promise<WorkflowBundleWithSourceMap> {
  return bundleWorkflowCode({ workflowsPath: path.resolve(relativePath), logger: new DefaultLogger('WARN') });
}
