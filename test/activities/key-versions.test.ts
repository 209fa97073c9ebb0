// createKeyVersion against the sandbox through the real @azure/keyvault-keys client: a new version keeps the
// key's kind (Key Vault's rotation when the key's policy sets an expiry, else a copy of the previous version with
// an expiry), nothing is created without an expiry where an Azure Policy requires one, and a retry returns the
// version of its operation, adopting the one a worker rotated but died before tagging.
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorType } from '../../activities/errors';
import { KEY_OPERATION_TAG } from '../../activities/keyvault';
import { type Activities, createActivities } from '../../activities';
import { addIsoDuration } from '../../sandbox/keyvault/rotation-policy';
import { startSandbox, type RunningSandbox } from '../../sandbox/sandbox';
import { createSandboxClients } from '../../worker/sandbox-clients';
import { SUB, TENANT } from '../sandbox/helpers';

const DAY = 86_400_000;
let sandbox: RunningSandbox;
let activities: Activities;
const run = <A extends unknown[], R>(fn: (...args: A) => Promise<R>, ...args: A): Promise<R> =>
  new MockActivityEnvironment().run(fn, ...args) as Promise<R>;
const keys = (vault: string) => sandbox.clients(undefined, { retryOptions: { maxRetries: 0 } }).keys(vault);
const versionIds = async (vault: string, key: string): Promise<string[]> => {
  const ids: string[] = [];
  for await (const p of keys(vault).listPropertiesOfKeyVersions(key)) ids.push(p.version!);
  return ids;
};
/** The new version as Key Vault reports it: type, modulus size in bits, operations, creation and expiry. */
const describeVersion = async (vault: string, key: string, version: string) => {
  const k = await keys(vault).getKey(key, { version });
  return {
    kty: k.keyType,
    bits: (k.key?.n?.length ?? 0) * 8,
    ops: k.keyOperations,
    created: k.properties.createdOn!.getTime(),
    expires: k.properties.expiresOn?.getTime(),
    tag: k.properties.tags?.[KEY_OPERATION_TAG],
  };
};

beforeAll(async () => {
  // Validity windows of the scenario's versions: created 30 days ago (keys' first versions), expiring later.
  const in150Days = new Date(Date.now() + 150 * DAY).toISOString();
  sandbox = await startSandbox({
    scenario: {
      seed: 26,
      tenantId: TENANT,
      subscriptions: [{ id: SUB, resourceGroups: [{ name: 'rg-kind', location: 'eastus' }] }],
      principals: [{ name: 'operator', type: 'User' }],
      vaults: [
        {
          name: 'kv-kind',
          keys: [
            {
              name: 'hsm',
              kty: 'RSA-HSM',
              keySize: 3072,
              rotationPolicy: {
                expiryTime: 'P90D',
                lifetimeActions: [{ action: 'Rotate', timeAfterCreate: 'P60D' }],
              },
            },
            { name: 'windowed', kty: 'RSA-HSM', keySize: 3072, versions: [{ expiresOn: in150Days }] },
            { name: 'bare', kty: 'RSA', keySize: 4096 },
          ],
        },
        { name: 'kv-strict', requireKeyExpiry: true, keys: [{ name: 'kms', kty: 'RSA' }] },
      ],
      roleAssignments: [
        { role: 'Key Vault Crypto Officer', principal: 'operator', scope: 'vault:kv-kind' },
        { role: 'Key Vault Crypto Officer', principal: 'operator', scope: 'vault:kv-strict' },
      ],
    },
    operationDurationMs: 50,
  });
  activities = createActivities({
    clients: createSandboxClients(sandbox.endpoints, sandbox.operator, {
      tuning: { retryOptions: { maxRetries: 0 } },
    }),
    pollIntervalMs: 50,
  });
});
afterAll(async () => sandbox?.close());

describe('createKeyVersion keeps the kind of the key', () => {
  it("rotates an RSA-HSM 3072 key with a rotation policy: an RSA-HSM 3072 version with the policy's expiry", async () => {
    const before = await versionIds('kv-kind', 'hsm');
    const previous = await describeVersion('kv-kind', 'hsm', before.at(-1)!);
    const created = await run(activities.createKeyVersion, {
      vaultUrl: sandbox.vaultUrl('kv-kind'),
      name: 'hsm',
      operationKey: 'wf/hsm/1',
    });
    const v = await describeVersion('kv-kind', 'hsm', created.version);
    expect(v).toMatchObject({ kty: 'RSA-HSM', bits: 3072, ops: previous.ops, tag: 'wf/hsm/1' });
    expect(v.expires).toBe(addIsoDuration(v.created / 1000, 'P90D') * 1000);
    expect(created.expiresOn).toBe(new Date(v.expires!).toISOString());
    // Key Vault's own rotation made it (the sandbox logs POST .../rotate), then kmsflow tagged it
    expect(
      sandbox.oplog.entries({ service: 'keyvault', method: 'POST', path: '/keys/hsm/rotate' }),
    ).toHaveLength(1);
    expect(await versionIds('kv-kind', 'hsm')).toHaveLength(before.length + 1);
  });

  it("without a policy, copies the previous version's type, size and operations, valid as long as it was", async () => {
    const [first] = await versionIds('kv-kind', 'windowed');
    const previous = await describeVersion('kv-kind', 'windowed', first!);
    const window = previous.expires! - previous.created;
    const t0 = Date.now();
    const created = await run(activities.createKeyVersion, {
      vaultUrl: sandbox.vaultUrl('kv-kind'),
      name: 'windowed',
      operationKey: 'wf/windowed/1',
    });
    const v = await describeVersion('kv-kind', 'windowed', created.version);
    expect(v).toMatchObject({ kty: 'RSA-HSM', bits: 3072, ops: previous.ops });
    expect(v.expires! - t0).toBeGreaterThan(window - 5_000);
    expect(v.expires! - t0).toBeLessThan(window + 5_000);
    expect(
      sandbox.oplog.entries({ service: 'keyvault', method: 'POST', path: '/keys/windowed/rotate' }),
    ).toHaveLength(0);
  });

  it('a version without an expiry to copy from gets one year; an explicit validity wins', async () => {
    const t0 = Date.now();
    const oneYear = await run(activities.createKeyVersion, {
      vaultUrl: sandbox.vaultUrl('kv-kind'),
      name: 'bare',
      operationKey: 'wf/bare/1',
    });
    const v = await describeVersion('kv-kind', 'bare', oneYear.version);
    expect(v).toMatchObject({ kty: 'RSA', bits: 4096 });
    expect(Math.abs(v.expires! - (t0 + 365 * DAY))).toBeLessThan(5_000);

    const days30 = await run(activities.createKeyVersion, {
      vaultUrl: sandbox.vaultUrl('kv-kind'),
      name: 'bare',
      operationKey: 'wf/bare/2',
      validityDays: 30,
    });
    expect(Math.abs(Date.parse(days30.expiresOn!) - (t0 + 30 * DAY))).toBeLessThan(5_000);
  });

  it('under the Azure Policy that requires an expiry, nothing is created without one', async () => {
    const vaultUrl = sandbox.vaultUrl('kv-strict');
    const before = await versionIds('kv-strict', 'kms');
    // What kmsflow used to do (a version without an expiry) is refused, and creates nothing:
    await expect(keys('kv-strict').createRsaKey('kms')).rejects.toMatchObject({ statusCode: 403 });
    await expect(keys('kv-strict').rotateKey('kms')).rejects.toMatchObject({ statusCode: 403 });
    expect(await versionIds('kv-strict', 'kms')).toEqual(before);

    const created = await run(activities.createKeyVersion, {
      vaultUrl,
      name: 'kms',
      operationKey: 'wf/strict/1',
    });
    expect(created.expiresOn).toBeDefined();
    const refused = sandbox.oplog
      .entries({ service: 'keyvault', path: '/keys/kms/create' })
      .filter((e) => e.status === 403);
    expect(refused).toHaveLength(1);
    expect(await versionIds('kv-strict', 'kms')).toHaveLength(before.length + 1);
  });

  it('a retry returns the version of its operation and creates nothing', async () => {
    const input = { vaultUrl: sandbox.vaultUrl('kv-kind'), name: 'hsm', operationKey: 'wf/hsm/1' };
    const before = await versionIds('kv-kind', 'hsm');
    const again = await run(activities.createKeyVersion, input);
    expect(again.version).toBe(before.at(-1));
    expect(await versionIds('kv-kind', 'hsm')).toEqual(before);
  });

  it('a retry adopts the version a dead worker rotated but never tagged, instead of rotating again', async () => {
    const vaultUrl = sandbox.vaultUrl('kv-kind');
    const scheduledTimestampMs = Date.now();
    // The first attempt rotated, then its worker died before tagging the new version.
    const orphan = await keys('kv-kind').rotateKey('hsm');
    const before = await versionIds('kv-kind', 'hsm');
    const retry = new MockActivityEnvironment({ attempt: 2, scheduledTimestampMs });
    const adopted = (await retry.run(activities.createKeyVersion, {
      vaultUrl,
      name: 'hsm',
      operationKey: 'wf/hsm/2',
    })) as Awaited<ReturnType<Activities['createKeyVersion']>>;
    expect(adopted.version).toBe(orphan.properties.version);
    expect(await versionIds('kv-kind', 'hsm')).toEqual(before);
    expect((await describeVersion('kv-kind', 'hsm', adopted.version)).tag).toBe('wf/hsm/2');

    // A first attempt never adopts: an untagged version made before it belongs to someone else.
    const stranger = await keys('kv-kind').rotateKey('hsm');
    const fresh = await run(activities.createKeyVersion, { vaultUrl, name: 'hsm', operationKey: 'wf/hsm/3' });
    expect(fresh.version).not.toBe(stranger.properties.version);
    expect(await versionIds('kv-kind', 'hsm')).toHaveLength(before.length + 2);
  });

  it('a vault that does not exist fails as not found at once, not as a transient error to retry', async () => {
    const missing = 'https://kv-nowhere.vault.azure.net:' + String(sandbox.endpoints.port);
    for (const attempt of [
      run(activities.getKey, `${missing}/keys/kms/${'0'.repeat(32)}`),
      run(activities.createKeyVersion, { vaultUrl: missing, name: 'kms', operationKey: 'wf/nowhere/1' }),
    ]) {
      const failure = (await attempt.catch((e: unknown) => e)) as ApplicationFailure;
      expect(failure).toBeInstanceOf(ApplicationFailure);
      expect(failure).toMatchObject({ type: ErrorType.notFound, nonRetryable: true });
      expect(failure.message).toMatch(/getaddrinfo ENOTFOUND kv-nowhere\.vault\.azure\.net/);
    }
  });
});
