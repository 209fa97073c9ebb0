/** One dev server, the probe procedure and a worker with controllable activities, shared by a test file. */
import { ApplicationFailure } from '@temporalio/activity';
import type { Worker, WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { createKmsflowWorker } from '../../worker/create-worker';
import { type ProcedureProgress, progressQuery } from '../../workflows/messages';
import { bundleTestWorkflows, startTemporalTestEnv, type TemporalTestEnv } from '../helpers/temporal-env';
import { waitUntil } from '../helpers/wait';
import type { ProbeActivities } from '../workflows/probe-activities';
import type { probeProcedure, ProbeInput } from '../workflows/probe';

const TASK_QUEUE = 'cli-test';

export interface ProbeControls {
  /** Makes the preflight check fail (non-retryable, so the step blocks) until cleared. */
  failCheck?: { message: string; code: string; fix: string };
  /** Holds every rewrite batch this long, so a run can be watched or paused mid-step. */
  batchDelayMs: number;
  /** Each rewrite batch first waits for this, so a test can hold the run at a known batch until something happened. */
  beforeBatch?: (batch: number) => Promise<void>;
}

export class ProbeHarness {
  readonly controls: ProbeControls = { batchDelayMs: 0 };
  private worker: Worker | undefined;
  private running: Promise<void> | undefined;
  private counter = 0;

  private constructor(
    readonly temporal: TemporalTestEnv,
    private readonly bundle: WorkflowBundleWithSourceMap,
  ) {}

  static async start(): Promise<ProbeHarness> {
    const [temporal, bundle] = await Promise.all([
      startTemporalTestEnv(),
      bundleTestWorkflows('test/workflows/probe.ts'),
    ]);
    const harness = new ProbeHarness(temporal, bundle);
    await harness.startWorker();
    return harness;
  }

  get address(): string {
    return this.temporal.server.address;
  }

  /** The CLI's global connection flags for this server. */
  get connection(): string[] {
    return ['--address', this.temporal.server.address, '--namespace', this.temporal.server.namespace];
  }

  private activities(): ProbeActivities {
    const controls = this.controls;
    return {
      async check() {
        if (controls.failCheck) {
          throw ApplicationFailure.create({
            message: controls.failCheck.message,
            type: controls.failCheck.code,
            nonRetryable: true,
            details: [{ code: controls.failCheck.code, fix: controls.failCheck.fix }],
          });
        }
      },
      async change() {},
      async rewriteBatch(batch) {
        await controls.beforeBatch?.(batch);
        if (controls.batchDelayMs > 0)
          await new Promise((resolve) => setTimeout(resolve, controls.batchDelayMs));
        return 10;
      },
      async verify() {},
    };
  }

  async startWorker(): Promise<void> {
    this.worker = await createKmsflowWorker({
      connection: this.temporal.env.nativeConnection,
      namespace: this.temporal.server.namespace,
      taskQueue: TASK_QUEUE,
      workflowBundle: this.bundle,
      activities: this.activities(),
    });
    this.running = this.worker.run();
  }

  async stopWorker(): Promise<void> {
    this.worker?.shutdown();
    await this.running;
    this.worker = undefined;
  }

  async startProbe(input: Omit<ProbeInput, 'cluster'> & { cluster?: string; workflowId?: string }) {
    this.counter += 1;
    const cluster = input.cluster ?? `aks-cli-${this.counter}`;
    const { workflowId, ...args } = input;
    return this.temporal.env.client.workflow.start<typeof probeProcedure>('probeProcedure', {
      taskQueue: TASK_QUEUE,
      workflowId: workflowId ?? `probe-${cluster}-${Date.now()}`,
      args: [{ ...args, cluster }],
    });
  }

  progress(workflowId: string): Promise<ProcedureProgress> {
    return this.temporal.env.client.workflow.getHandle(workflowId).query(progressQuery);
  }

  untilPhase(workflowId: string, phase: ProcedureProgress['phase']): Promise<ProcedureProgress> {
    return waitUntil(
      () => this.progress(workflowId),
      (p) => p.phase === phase,
      { what: `phase ${phase} of ${workflowId}` },
    );
  }

  async teardown(): Promise<void> {
    await this.stopWorker().catch(() => undefined);
    await this.temporal?.teardown();
  }
}
