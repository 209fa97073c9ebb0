// `kmsflow dev` never leaves its Temporal dev server behind: killed with SIGKILL (as the OOM killer
// would), its server stops too; and a server that an earlier kmsflow left on the same database is stopped
// by the next `kmsflow dev`, which then takes the database over.
import { type ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { freePort } from '../../client/dev-server';
import { findOrBuildTemporalCli } from '../../client/temporal-cli';
import { waitUntil } from '../helpers/wait';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kmsflow-dev-'));
const started: ChildProcess[] = [];

afterAll(() => {
  for (const child of started)
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  fs.rmSync(dir, { recursive: true, force: true });
});

const alive = (pid: number) =>
  fs.existsSync(`/proc/${pid}`) && !/\) Z /.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));

/** `kmsflow dev` as a process, resolved once its worker polls; `output()` is what it printed. */
async function startDev(db: string): Promise<{ child: ChildProcess; output: () => string }> {
  const port = await freePort();
  const child = spawn(path.resolve('bin/kmsflow'), ['dev', '--no-ui', '--db', db, '--port', String(port)], {
    env: { ...process.env, NO_COLOR: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  started.push(child);
  let output = '';
  child.stdout!.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (output += c.toString()));
  await waitUntil(
    async () => output,
    (o) => o.includes('polling task queue') || child.exitCode !== null,
    { what: 'kmsflow dev to serve', timeoutMs: 120_000 },
  );
  expect(output).toContain('Temporal address');
  expect(output).toContain('polling task queue');
  return { child, output: () => output };
}

it('a kmsflow dev killed with SIGKILL takes its Temporal server with it', async () => {
  const db = path.join(dir, 'killed.db');
  const dev = await startDev(db);
  const serverPid = Number(fs.readFileSync(`${db}.pid`, 'utf8'));
  expect(alive(serverPid)).toBe(true);
  dev.child.kill('SIGKILL');
  await waitUntil(
    async () => alive(serverPid),
    (a) => !a,
    { what: `the dev server (pid ${serverPid}) to stop`, timeoutMs: 20_000 },
  );

  // The same database serves again at once.
  const again = await startDev(db);
  again.child.kill('SIGINT');
  await waitUntil(
    async () => again.child.exitCode,
    (code) => code !== null,
    { what: 'kmsflow dev to stop on Ctrl-C', timeoutMs: 60_000 },
  );
  const secondPid = Number(fs.readFileSync(`${db}.pid`, 'utf8'));
  await waitUntil(
    async () => alive(secondPid),
    (a) => !a,
    { what: 'its server to stop', timeoutMs: 20_000 },
  );
}, 300_000);

it('stops a dev server an earlier kmsflow left running on the same database, then serves it', async () => {
  const db = path.join(dir, 'stale.db');
  const cli = await findOrBuildTemporalCli(() => {});
  // What a crashed kmsflow dev of an older release left behind: a server outside any guard, with its pid noted.
  const stale = spawn(
    cli,
    [
      'server',
      'start-dev',
      '--headless',
      '--ip',
      '127.0.0.1',
      '--port',
      String(await freePort()),
      '--db-filename',
      db,
    ],
    {
      stdio: 'ignore',
      detached: true,
    },
  );
  started.push(stale);
  fs.writeFileSync(`${db}.pid`, String(stale.pid));
  await waitUntil(
    async () => fs.existsSync(db),
    (exists) => exists,
    { what: 'the stale server to open its database', timeoutMs: 60_000 },
  );

  const dev = await startDev(db);
  expect(dev.output()).toContain(`Stopping a Temporal dev server (pid ${stale.pid}) left running on ${db}`);
  expect(alive(stale.pid!)).toBe(false);
  dev.child.kill('SIGINT');
  await waitUntil(
    async () => dev.child.exitCode,
    (code) => code !== null,
    { what: 'kmsflow dev to stop on Ctrl-C', timeoutMs: 60_000 },
  );
}, 300_000);
