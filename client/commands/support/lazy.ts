/**
 * Modules only some commands need (the worker SDK and its bundler, the Azure and Kubernetes clients, the
 * sandbox), loaded on first use: together they take seconds to load, which every other command would pay.
 *
 * `require` first: the CLI is CommonJS, and under tsx's require hook (bin/kmsflow) a dynamic `import()` of
 * a TypeScript file is not resolved. `import()` as the fallback serves runtimes without `require` for
 * TypeScript (the test runner). A module that fails while loading fails again, with its own error, in
 * the fallback.
 */
/* eslint-disable @typescript-eslint/no-require-imports */
import type * as ActivitiesFromEnv from '../../../worker/activities-from-env';
import type * as WorkerMain from '../../../worker/main';
import type * as SandboxMain from '../../../sandbox/main';
import type * as Sandbox from '../../../sandbox/sandbox';
import type * as CreateWorker from '../../../worker/create-worker';
import type * as Bundle from '../../../worker/bundle';
import type * as WorkerSdk from '@temporalio/worker';

async function load<T>(viaRequire: () => T, viaImport: () => Promise<T>): Promise<T> {
  try {
    return viaRequire();
  } catch {
    return viaImport();
  }
}

export const loadWorkerMain = () =>
  load<typeof WorkerMain>(
    () => require('../../../worker/main'),
    () => import('../../../worker/main'),
  );
export const loadActivitiesFromEnv = () =>
  load<typeof ActivitiesFromEnv>(
    () => require('../../../worker/activities-from-env'),
    () => import('../../../worker/activities-from-env'),
  );
export const loadSandboxMain = () =>
  load<typeof SandboxMain>(
    () => require('../../../sandbox/main'),
    () => import('../../../sandbox/main'),
  );
export const loadSandbox = () =>
  load<typeof Sandbox>(
    () => require('../../../sandbox/sandbox'),
    () => import('../../../sandbox/sandbox'),
  );
export const loadWorkerParts = async () => ({
  ...(await load<typeof CreateWorker>(
    () => require('../../../worker/create-worker'),
    () => import('../../../worker/create-worker'),
  )),
  ...(await load<typeof Bundle>(
    () => require('../../../worker/bundle'),
    () => import('../../../worker/bundle'),
  )),
});
export const loadWorkerSdk = () =>
  load<typeof WorkerSdk>(
    () => require('@temporalio/worker'),
    () => import('@temporalio/worker'),
  );
