// The README's first command, as a newcomer runs it: a real process, the whole stack, a few minutes.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { expect, it } from 'vitest';

it('kmsflow demo migrates the sample cluster from KMS v1 to v2 and ends with proven evidence', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kmsflow-demo-test-'));
  const envFile = path.join(dir, 'sandbox.env');
  const child = spawn('./bin/kmsflow', ['demo', '--sandbox-env', envFile], {
    env: { ...process.env, NO_COLOR: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  fs.rmSync(dir, { recursive: true, force: true });
  expect(code, output.slice(-3000)).toBe(0);
  expect(output).toMatch(/Web UI: http:\/\/127\.0\.0\.1:\d+/);
  expect(output).toContain('upgrade-1.27');
  expect(output).toContain('upgrade-1.29');
  expect(output).toContain('Verdict: proven');
  expect(output.match(/PROVEN: every Secret under/g)).toHaveLength(2);
  expect(output).toContain('Key slots (kmsflow ledger): current kv-kmsflow-demo/kms-key/');
}, 600_000);
