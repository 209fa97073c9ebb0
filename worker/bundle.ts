import * as fs from 'node:fs';
import * as path from 'node:path';
import { bundleWorkflowCode, type WorkflowBundleOption } from '@temporalio/worker';

/** The workflows' entry: the compiled index.js next to a build, the TypeScript source otherwise. */
export const WORKFLOWS_PATH = ['index.js', 'index.ts']
  .map((file) => path.resolve(__dirname, '..', 'workflows', file))
  .find((file) => fs.existsSync(file)) as string;

/** Written by `npm run build`; a worker started from the build loads it instead of bundling at start. */
export const PREBUILT_BUNDLE_PATH = path.resolve(__dirname, '..', 'workflow-bundle.js');

export async function buildWorkflowBundle(): Promise<string> {
  const { code } = await bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: quietBundlerLogger });
  return code;
}

export async function loadWorkflowBundle(): Promise<WorkflowBundleOption> {
  if (fs.existsSync(PREBUILT_BUNDLE_PATH)) return { codePath: PREBUILT_BUNDLE_PATH };
  return { code: await buildWorkflowBundle() };
}

const noop = () => {};
const quietBundlerLogger = { trace: noop, debug: noop, info: noop, warn: console.warn, error: console.error, log: noop };
