// The layering docs/architecture.md states is what `npx eslint .` enforces: for each folder, one import it may
// make and one it may not, linted with the repository's own configuration (no server).
import * as path from 'node:path';
import { ESLint } from 'eslint';
import { expect, it } from 'vitest';

const eslint = new ESLint({ cwd: path.resolve('.') });

/** The `kmsflow/layers` and built-in findings for `code` as if it were the file at `file`. */
async function refusals(file: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(`${code}\nexport const used = [x];\n`, { filePath: file });
  return result!.messages
    .filter((m) => m.ruleId === 'kmsflow/layers' || m.ruleId === 'no-restricted-imports')
    .map((m) => m.message);
}

const CASES: { file: string; code: string; refused: boolean }[] = [
  // model/ imports model/ only, types too.
  { file: 'model/rules/a.ts', code: "import { parseKeyId as x } from '../ids';", refused: false },
  {
    file: 'model/a.ts',
    code: "import type { Plan as X } from '../workflows/plan';\nconst x = 1 as unknown as X;",
    refused: true,
  },
  // A module of ours named like a Node built-in is not one.
  { file: 'model/rules/a.ts', code: "import { a as x } from './cluster';", refused: false },
  { file: 'model/a.ts', code: "import { readFileSync as x } from 'node:fs';", refused: true },
  // activities/ → model/; workflows/ for types, and at run time in activities/ledger.ts only.
  { file: 'activities/estate.ts', code: "import { parseKeyId as x } from '../model/ids';", refused: false },
  { file: 'activities/a.ts', code: "import { keyLedger as x } from '../workflows/ledger';", refused: true },
  {
    file: 'activities/ledger.ts',
    code: "import { keyLedger as x } from '../workflows/ledger';",
    refused: false,
  },
  {
    file: 'activities/a.ts',
    code: "import { type ProcedureName as x } from '../workflows/procedures';",
    refused: false,
  },
  // workflows/ → model/ at run time, activities/ for types only.
  { file: 'workflows/a.ts', code: "import { parseKeyId as x } from '../model/ids';", refused: false },
  {
    file: 'workflows/a.ts',
    code: "import { createClusterActivities as x } from '../activities/cluster';",
    refused: true,
  },
  {
    file: 'workflows/a.ts',
    code: "import type { Marker as x } from '../activities/reencrypt/types';",
    refused: false,
  },
  {
    file: 'workflows/a.ts',
    code: "import type { CliIo as x } from '../client/commands/support/runtime';",
    refused: true,
  },
  // worker/ → the sandbox's clients and env file only; client/ loads the rest of the sandbox; sandbox/ is alone.
  { file: 'worker/a.ts', code: "import { a as x } from '../sandbox/env-file';", refused: false },
  { file: 'worker/a.ts', code: "import { a as x } from '../sandbox/server';", refused: true },
  { file: 'client/a.ts', code: "const x = () => import('../sandbox/main');", refused: false },
  { file: 'client/a.ts', code: "const x = () => import('../activities/cluster');", refused: true },
  { file: 'sandbox/kube/a.ts', code: "import { parseKeyId as x } from '../../model/ids';", refused: true },
  { file: 'temporal/a.ts', code: "import { parseKeyId as x } from '../model/ids';", refused: true },
  { file: 'conformance/a.ts', code: "import { a as x } from '../client/cache-dir';", refused: false },
  { file: 'conformance/a.ts', code: "import { a as x } from '../client/cli';", refused: true },
];

it.each(CASES)(
  '$file: $code (refused: $refused)',
  async ({ file, code, refused }) => {
    const found = await refusals(file, code);
    expect(found.length > 0 ? found : 'allowed').toEqual(refused ? expect.any(Array) : 'allowed');
  },
  30_000,
);
