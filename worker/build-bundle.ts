// `npm run build` runs this (compiled, from dist/) after tsc, so production workers start from a prebuilt workflow bundle.
import * as fs from 'node:fs';
import { buildWorkflowBundle, PREBUILT_BUNDLE_PATH } from './bundle';

buildWorkflowBundle().then(
  (code) => {
    fs.writeFileSync(PREBUILT_BUNDLE_PATH, code);
    console.log(`workflow bundle written to ${PREBUILT_BUNDLE_PATH} (${Math.round(code.length / 1024)} KiB)`);
  },
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
