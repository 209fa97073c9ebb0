import js from '@eslint/js';
import { builtinModules } from 'node:module';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import tseslint from 'typescript-eslint';
import { layersRule } from './eslint/layers.mjs';

const NO_BUILTINS =
  'Workflow code must be deterministic: no Node built-ins (they reach the clock, the disk, the network).';

const EVERY_FOLDER = [
  'client',
  'worker',
  'temporal',
  'workflows',
  'activities',
  'model',
  'sandbox',
  'conformance',
  'bench',
  'test',
];

/**
 * The layers of docs/architecture.md: the folders each top-level folder may import at run time (`runtime`), and
 * those it may take types from besides (`types`). An entry with a slash allows that one module. Anything else
 * is an error of `kmsflow/layers` (eslint/layers.mjs).
 */
const LAYERS = {
  client: { runtime: ['worker', 'temporal', 'workflows', 'model', 'sandbox'] },
  worker: {
    runtime: ['temporal', 'workflows', 'activities', 'model', 'sandbox/env-file', 'sandbox/client-options'],
  },
  temporal: { runtime: [] },
  // Deterministic code: it reaches Azure and Kubernetes only through activities, whose types it takes.
  workflows: { runtime: ['model'], types: ['activities'] },
  activities: {
    runtime: ['model'],
    types: ['workflows'],
    // The one import that points up: a Temporal client of the key ledger workflow, started by typed reference.
    files: { 'activities/ledger.ts': { runtime: ['workflows'] } },
  },
  model: { runtime: [] },
  // The emulator shares no code with what it emulates for: a bug on one side cannot hide the same bug on the other.
  sandbox: { runtime: [] },
  conformance: { runtime: ['sandbox', 'client/cache-dir'] },
  bench: { runtime: EVERY_FOLDER },
  test: { runtime: EVERY_FOLDER },
};

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', '.cache/', 'coverage/', 'bin/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      'no-console': 'off',
    },
  },
  {
    files: ['**/*.ts', '**/*.mts'],
    plugins: { kmsflow: { rules: { layers: layersRule } } },
    rules: {
      'kmsflow/layers': ['error', { root: path.dirname(fileURLToPath(import.meta.url)), layers: LAYERS }],
    },
  },
  {
    // Workflow code is bundled and replayed: every import at runtime must be deterministic (the layers above keep
    // it to workflows/ and model/; these are the packages).
    files: ['workflows/**/*.ts', 'model/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          // By exact name: as a pattern, `cluster` or `events` would also match a module of ours so named.
          paths: builtinModules.map((name) => ({ name, message: NO_BUILTINS })),
          patterns: [
            { group: ['node:*'], message: NO_BUILTINS },
            {
              group: ['@azure/*', '@kubernetes/*'],
              allowTypeImports: true,
              message:
                'Workflow code reaches Azure and Kubernetes only through activities (workflows/activity-proxies.ts): import their types only.',
            },
          ],
        },
      ],
    },
  },
);
