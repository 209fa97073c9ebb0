// The CLI without a Temporal server: bad input is refused with exit 2 before anything is sent, and
// every command documents itself.
import * as net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COMMANDS } from '../../client/cli';
import type { ErrorShape } from '../../client/output/shapes';
import { parseJson, runCli } from './cli-harness';

/** A loopback port that accepts connections and counts them: any byte sent to it means the CLI reached out. */
let trap: net.Server;
let trapAddress: string;
let connections = 0;

beforeAll(async () => {
  trap = net.createServer((socket) => {
    connections += 1;
    socket.destroy();
  });
  await new Promise<void>((resolve) => trap.listen(0, '127.0.0.1', resolve));
  trapAddress = `127.0.0.1:${(trap.address() as net.AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => trap.close(resolve));
});

const usageCases: Array<{ argv: string[]; message: string }> = [
  {
    argv: ['approve'],
    message: "kmsflow: Missing required argument 'workflowId'. Add --help for usage and examples.",
  },
  {
    argv: ['cancel', 'wf-1'],
    message:
      'kmsflow: Say why: kmsflow cancel wf-1 --reason "..." (the reason is recorded in the procedure).',
  },
  {
    argv: ['cancel', 'wf-1', '--reason', '   '],
    message:
      'kmsflow: Say why: kmsflow cancel wf-1 --reason "..." (the reason is recorded in the procedure).',
  },
  {
    argv: ['status', '  '],
    message: 'kmsflow: Name the procedure: kmsflow status <workflowId> (`kmsflow list` shows the ids).',
  },
  {
    argv: ['approve', 'wf-1', ''],
    message: 'kmsflow: The gate must not be empty: leave it out to approve the gate that waits.',
  },
  {
    argv: ['list', '--limit', '0'],
    message:
      "kmsflow: Option '--limit <n>' argument '0' is invalid. Give a whole number from 1 to 1000. Add --help for usage and examples.",
  },
  {
    argv: ['list', '--status', 'bogus'],
    message:
      "kmsflow: Option '--status <status>' argument 'bogus' is invalid. Use one of running, completed, cancelled, failed, terminated, timed-out. Add --help for usage and examples.",
  },
  {
    argv: ['list', '--phase', 'sleeping'],
    message:
      "kmsflow: Option '--phase <phase>' argument 'sleeping' is invalid. Use one of running, paused, waiting-approval, blocked, completed, cancelled. Add --help for usage and examples.",
  },
  {
    argv: ['watch', 'wf-1', '--interval', 'soon'],
    message:
      "kmsflow: Option '--interval <seconds>' argument 'soon' is invalid. Give a number of seconds from 0.1 to 60, e.g. 1 or 0.5. Add --help for usage and examples.",
  },
  {
    argv: ['status', 'wf-1', '--address', 'nohost'],
    message:
      "kmsflow: Option '--address <host:port>' argument 'nohost' is invalid. Give the Temporal frontend as host:port, e.g. localhost:7233. Add --help for usage and examples.",
  },
  {
    argv: ['status', 'a', 'b'],
    message:
      "kmsflow: Too many arguments for 'status'. Expected 1 argument but got 2. Add --help for usage and examples.",
  },
  {
    argv: ['frobnicate'],
    message: "kmsflow: Unknown command 'frobnicate'. Add --help for usage and examples.",
  },
];

describe('bad input', () => {
  for (const { argv, message } of usageCases) {
    it(`refuses \`kmsflow ${argv.join(' ')}\` with exit 2 and one sentence, sending nothing`, async () => {
      const before = connections;
      const run = await runCli([...argv, '--address', trapAddress]);
      expect(run.code).toBe(2);
      expect(run.stdout).toBe('');
      expect(run.stderr).toBe(`${message}\n`);
      expect(connections).toBe(before);
    });
  }

  it('refuses an approval when nobody can be named as approver', async () => {
    const run = await runCli(['approve', 'wf-1', '--address', trapAddress], { env: {} });
    expect(run).toEqual({
      code: 2,
      stdout: '',
      stderr: 'kmsflow: Say who you are with --as NAME: $USER is not set.\n',
    });
  });

  it('prints usage errors as a JSON error object with --json', async () => {
    const missing = await runCli(['retry', '--json']);
    expect(missing.code).toBe(2);
    expect(parseJson<ErrorShape>(missing.stderr)).toEqual({
      error: {
        exitCode: 2,
        message: "Missing required argument 'workflowId'. Add --help for usage and examples.",
      },
    });
    const noReason = await runCli(['cancel', 'wf-1', '--json', '--address', trapAddress]);
    expect(parseJson<ErrorShape>(noReason.stderr).error.exitCode).toBe(2);
  });

  it('names an unknown profile of the Temporal config file as a usage error', async () => {
    const run = await runCli(['status', 'wf-1', '--profile', 'no-such-profile-here']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("Profile 'no-such-profile-here' not found");
    expect(run.stderr).toContain('name an existing profile with --profile');
  });
});

describe('an unreachable Temporal', () => {
  it('exits 1 with a sentence naming the address and how to start one', async () => {
    // The trap port accepts TCP but speaks no HTTP/2, so the connection fails like a wrong address does.
    const run = await runCli(['status', 'wf-1', '--address', trapAddress]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(
      new RegExp(
        `^kmsflow: Cannot reach Temporal at ${trapAddress} \\(namespace default\\): .+ Start a local one with \`kmsflow dev\`, or point --address / TEMPORAL_ADDRESS at yours\\.\\n$`,
      ),
    );
  }, 30_000);
});

describe('help', () => {
  const names = [
    'plan',
    'start',
    'status',
    'watch',
    'list',
    'approve',
    'pause',
    'resume',
    'retry',
    'cancel',
    'keys',
    'report',
    'campaign',
    'schedule',
    'worker',
    'versions',
    'dev',
    'sandbox',
    'demo',
    'setup',
    'codec-server',
  ];

  it('registers every command once', () => {
    expect(COMMANDS).toHaveLength(names.length);
  });

  for (const name of names) {
    it(`\`kmsflow ${name} --help\` exits 0 with examples and the global connection options`, async () => {
      const run = await runCli([name, '--help']);
      expect(run.code).toBe(0);
      expect(run.stdout).toContain(`Usage: kmsflow ${name}`);
      expect(run.stdout).toMatch(/Examples:\n {2}(TEMPORAL_ADDRESS=\S+ )?kmsflow /);
      expect(run.stdout).toContain('--address <host:port>');
      expect(run.stderr).toBe('');
    });
  }

  it('lists the exit codes and every command in the top-level help', async () => {
    const run = await runCli(['--help']);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(
      'Exit codes: 0 success, 1 unexpected error, 2 usage error, 3 waiting for an operator, 4 failed or cancelled, 5 not found.',
    );
    for (const name of names) expect(run.stdout).toMatch(new RegExp(`\\n {2}${name} `));
  });

  it('offers --json on every operator command', async () => {
    for (const name of [
      'plan',
      'start',
      'status',
      'watch',
      'list',
      'approve',
      'pause',
      'resume',
      'retry',
      'cancel',
      'keys',
      'report',
    ]) {
      expect((await runCli([name, '--help'])).stdout).toContain('--json');
    }
  });
});
