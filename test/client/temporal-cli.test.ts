import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  cachedTemporalCliPath,
  findOrBuildTemporalCli,
  TEMPORAL_CLI_INSTALL_HINT,
  TemporalCliNotFoundError,
} from '../../client/temporal-cli';

const saved = { ...process.env };
let dir: string;

function executable(file: string): string {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, '#!/bin/sh\nexit 0\n', { mode: 0o755 });
  return file;
}

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kmsflow-cli-'));
  delete process.env.TEMPORAL_CLI_PATH;
  process.env.KMSFLOW_CACHE_DIR = path.join(dir, 'cache');
  process.env.PATH = path.join(dir, 'empty-path');
});

afterEach(() => {
  process.env = { ...saved };
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('finding the Temporal CLI', () => {
  it('prefers TEMPORAL_CLI_PATH and names it when it is not executable', async () => {
    const cli = executable(path.join(dir, 'custom', 'temporal'));
    executable(path.join(dir, 'empty-path', 'temporal'));
    process.env.TEMPORAL_CLI_PATH = cli;
    await expect(findOrBuildTemporalCli()).resolves.toBe(cli);

    process.env.TEMPORAL_CLI_PATH = path.join(dir, 'missing');
    await expect(findOrBuildTemporalCli()).rejects.toThrow(
      `TEMPORAL_CLI_PATH=${path.join(dir, 'missing')} is not an executable file`,
    );
  });

  it('takes temporal from PATH, then the cache', async () => {
    const cached = executable(cachedTemporalCliPath());
    expect(cached.startsWith(path.join(dir, 'cache'))).toBe(true);
    await expect(findOrBuildTemporalCli()).resolves.toBe(cached);

    const onPath = executable(path.join(dir, 'empty-path', 'temporal'));
    await expect(findOrBuildTemporalCli()).resolves.toBe(onPath);
  });

  it('fails with the install sentence when nothing is found and Go is missing', async () => {
    const error = await findOrBuildTemporalCli().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TemporalCliNotFoundError);
    expect((error as Error).message).toBe(TEMPORAL_CLI_INSTALL_HINT);
    expect(TEMPORAL_CLI_INSTALL_HINT).toContain('go install github.com/temporalio/cli/cmd/temporal@v1.5.1');
  });
});
