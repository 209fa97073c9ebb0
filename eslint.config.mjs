import js from '@eslint/js';
import { builtinModules } from 'node:module';
import tseslint from 'typescript-eslint';

const NODE_BUILTINS = builtinModules.flatMap((name) => [name, `${name}/*`]);

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
    // Workflow code is bundled and replayed: every import at runtime must be deterministic. Types may come from anywhere.
    files: ['workflows/**/*.ts', 'model/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['node:*', ...NODE_BUILTINS],
              message:
                'Workflow code must be deterministic: no Node built-ins (they reach the clock, the disk, the network).',
            },
            {
              group: ['**/activities', '**/activities/**', '@azure/*', '@kubernetes/*'],
              allowTypeImports: true,
              message:
                'Workflow code reaches Azure and Kubernetes only through activities (workflows/activity-proxies.ts): import their types only.',
            },
            {
              group: [
                '**/sandbox',
                '**/sandbox/**',
                '**/client',
                '**/client/**',
                '**/worker',
                '**/worker/**',
                '**/conformance/**',
                '**/bench/**',
              ],
              allowTypeImports: true,
              message:
                'Workflow code depends on nothing outside workflows/ at runtime but @temporalio/workflow and @temporalio/common.',
            },
          ],
        },
      ],
    },
  },
);
