/**
 * `kmsflow demo`: the embedded default end to end. A Temporal dev server with its Web UI, the sandbox with
 * a sample estate (a 1.26 cluster on KMS v1 with 3,000 Secrets, a 1.29 cluster on KMS v2), a worker, and
 * the KMS v2 migration of the first cluster with pre-approved gates, followed live and closed with its
 * evidence and key ledger.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Command } from 'commander';
import { startDevServer } from '../dev-server';
import { renderKeys } from '../output/keys-view';
import { renderPlan, renderStart } from '../output/plan-view';
import { renderReport } from '../output/report-view';
import { connectClient } from '../../temporal/connection';
import { clusterId as formatClusterId } from '../../model/ids';
import { TASK_QUEUE } from '../../workflows/messages';
import { clusterKeys } from './keys';
import { readEvidence } from './support/evidence';
import { loadActivitiesFromEnv, loadSandbox, loadWorkerParts, loadWorkerSdk } from './support/lazy';
import { addExamples, wholeNumber } from './support/options';
import { procedureRequest } from './support/procedure-request';
import { planResult, runPlan, startProcedure, workerSeen } from './support/procedure-runs';
import type { CommandContext, CommandModule } from './support/runtime';
import { watchProcedure } from './watch';

interface DemoOptions {
  port?: number;
  uiPort?: number;
  targetVersion: string;
  keepRunning: boolean;
  envFile: string;
}

const DEMO_CLUSTER = { resourceGroup: 'rg-kmsflow-demo', name: 'aks-legacy' };

async function runDemo(ctx: CommandContext, options: DemoOptions): Promise<number> {
  const log = (line: string) => ctx.out.note(line);
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'kmsflow-demo-'));
  log('Starting the Temporal dev server with its Web UI ...');
  const server = await startDevServer({
    ui: true,
    port: options.port,
    uiPort: options.uiPort,
    dbFile: path.join(work, 'temporal.db'),
    log,
  });
  const cleanups: (() => Promise<void>)[] = [() => server.stop()];
  try {
    log('Starting the sandbox (ARM, Key Vault, Kubernetes) with the demo estate ...');
    const { startSandbox } = await loadSandbox();
    const sandbox = await startSandbox({
      scenario: 'demo',
      operationDurationMs: 1500,
      propagationDelayMs: 1000,
    });
    cleanups.unshift(() => sandbox.close());
    fs.mkdirSync(path.dirname(path.resolve(options.envFile)), { recursive: true });
    await sandbox.writeEnvFile(options.envFile);
    log(
      `Sandbox settings written to ${options.envFile} (kmsflow worker --sandbox-env ${options.envFile} uses them).`,
    );

    const target = { connectionOptions: { address: server.address }, namespace: server.namespace };
    const client = await connectClient(target);
    cleanups.unshift(() => client.connection.close());
    const { buildActivities } = await loadActivitiesFromEnv();
    const { createKmsflowWorker, installWorkerRuntime, loadWorkflowBundle, NativeConnection } = {
      ...(await loadWorkerParts()),
      ...(await loadWorkerSdk()),
    };
    installWorkerRuntime();
    const connection = await NativeConnection.connect(target.connectionOptions);
    const worker = await createKmsflowWorker({
      connection,
      namespace: server.namespace,
      workflowBundle: (await loadWorkflowBundle()).bundle,
      activities: buildActivities({
        source: { kind: 'sandbox', envFile: options.envFile },
        temporal: client,
        pollIntervalMs: 500,
      }),
    });
    const running = worker.run();
    cleanups.unshift(async () => {
      worker.shutdown();
      await running;
      await connection.close();
    });

    // The worker's first poll reaches the server a moment after run(): plans and starts check for it.
    const deadline = Date.now() + 60_000;
    while (!(await workerSeen(client, TASK_QUEUE))) {
      if (Date.now() > deadline) throw new Error('the demo worker did not start polling within 60 s');
      await new Promise((resolve) => setTimeout(resolve, 250));
    }

    const demoCtx: CommandContext = {
      ...ctx,
      temporal: async () => client,
      where: () => ({ address: server.address, namespace: server.namespace }),
    };
    const cluster = formatClusterId({ subscriptionId: sandbox.subscriptionId, ...DEMO_CLUSTER });
    const request = procedureRequest(
      'migrate-v2',
      {
        cluster,
        targetVersion: options.targetVersion,
        approve: 'all',
        propagationWait: 0,
        pollInterval: 0.5,
      },
      ctx.io.env,
      'kmsflow demo',
    );
    ctx.out.line();
    ctx.out.line(`Web UI: ${server.uiUrl}  (Temporal at ${server.address})`);
    ctx.out.line();
    const { plan, workflowId: planId } = await runPlan(client, request, TASK_QUEUE);
    const planned = planResult(plan, planId);
    ctx.out.lines(renderPlan(planned, ctx.out.style));
    ctx.out.line();
    const started = await startProcedure(client, request, {
      taskQueue: TASK_QUEUE,
      requestedBy: 'kmsflow demo',
      plan: planned,
      uiUrl: server.uiUrl,
    });
    ctx.out.lines(renderStart(started, ctx.out.style));
    ctx.out.line();
    const exitCode = await watchProcedure(demoCtx, started.workflowId, { interval: 1 });
    ctx.out.line();
    ctx.out.lines(renderReport(await readEvidence(client, started.workflowId), ctx.out.style));
    ctx.out.line();
    ctx.out.lines(renderKeys(await clusterKeys(client, cluster, TASK_QUEUE), ctx.out.style));

    if (options.keepRunning) {
      ctx.out.line();
      ctx.out.line(
        `Everything keeps running: open ${server.uiUrl}, or in another shell export TEMPORAL_ADDRESS=${server.address} and try`,
      );
      ctx.out.line(
        `  kmsflow list · kmsflow keys '${cluster}' · kmsflow report '${started.workflowId}'. Press Ctrl-C to stop.`,
      );
      await new Promise<void>((resolve) => {
        const dispose = ctx.io.onInterrupt?.(() => {
          dispose?.();
          resolve();
        });
        if (!dispose) process.once('SIGINT', () => resolve());
      });
    }
    return exitCode;
  } finally {
    for (const cleanup of cleanups) await cleanup().catch(() => undefined);
    fs.rmSync(work, { recursive: true, force: true });
  }
}

export const demoCommand: CommandModule = {
  register(program: Command, runtime) {
    const command = program
      .command('demo')
      .description(
        'Run the whole of kmsflow locally: a Temporal dev server with its Web UI, the sandbox with a sample estate, a worker,\n' +
          'and the KMS v1 → v2 migration of a 1.26 cluster with 3,000 Secrets (gates pre-approved), followed live and\n' +
          'closed with its proof. Takes a few minutes on 2 cores. Exit code: the procedure’s (0 completed).',
      )
      .option('--port <port>', 'Temporal frontend port (default: a free port)', wholeNumber(1, 65535))
      .option('--ui-port <port>', 'Web UI port (default: a free port)', wholeNumber(1, 65535))
      .option('--target-version <version>', 'Kubernetes version to migrate to', '1.29')
      .option(
        '--sandbox-env <file>',
        'where to write the sandbox settings',
        path.join('.kmsflow', 'sandbox.env'),
      )
      .option(
        '--keep-running',
        'keep the dev server, sandbox and worker up after the run, until Ctrl-C',
        false,
      );
    addExamples(command, ['kmsflow demo', 'kmsflow demo --keep-running --ui-port 8233']);
    command.action(
      runtime.action(
        async (
          ctx,
          opts: {
            port?: number;
            uiPort?: number;
            targetVersion: string;
            keepRunning: boolean;
            sandboxEnv: string;
          },
        ) => {
          return runDemo(ctx, { ...opts, envFile: opts.sandboxEnv });
        },
      ),
    );
  },
};
