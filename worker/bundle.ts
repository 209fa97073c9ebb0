import * as fs from 'node:fs';
import * as path from 'node:path';
import { bundleWorkflowCode, type WorkflowBundleOption } from '@temporalio/worker';

/** The workflows' entry: the compiled index.js next to a build, the TypeScript source otherwise. */
export const WORKFLOWS_PATH = ['index.js', 'index.ts']
  .map((file) => path.resolve(__dirname, '..', 'workflows', file))
  .find((file) => fs.existsSync(file)) as string;

/** True when this code runs from `npm run build`'s output (dist/), not from the TypeScript sources. */
export const RUNNING_FROM_BUILD = __filename.endsWith('.js');

/** Written by `npm run build` next to the compiled code (dist/workflow-bundle.js); only a build loads it. */
export const PREBUILT_BUNDLE_PATH = path.resolve(__dirname, '..', 'workflow-bundle.js');

export async function buildWorkflowBundle(): Promise<string> {
  const { code } = await bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: quietBundlerLogger });
  return code;
}

/**
 * The build's prebuilt bundle when running from the build, else a bundle made now from the sources. A
 * build without its bundle is an incomplete build: say so instead of bundling what may be other code.
 */
export async function loadWorkflowBundle(): Promise<{ bundle: WorkflowBundleOption; describe: string }> {
  if (!RUNNING_FROM_BUILD)
    return { bundle: { code: await buildWorkflowBundle() }, describe: 'bundled from the sources at start' };
  if (!fs.existsSync(PREBUILT_BUNDLE_PATH)) {
    throw new Error(
      `The build has no workflow bundle at ${PREBUILT_BUNDLE_PATH}: run \`npm run build\` again (it compiles, then bundles).`,
    );
  }
  return { bundle: { codePath: PREBUILT_BUNDLE_PATH }, describe: `prebuilt ${PREBUILT_BUNDLE_PATH}` };
}

const noop = () => {};
const quietBundlerLogger = {
  trace: noop,
  debug: noop,
  info: noop,
  warn: console.warn,
  error: console.error,
  log: noop,
};
