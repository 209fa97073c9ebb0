// The sandbox's Key Vault rotation through the real @azure/keyvault-keys client: rotation policies (GET/PUT
// /keys/<name>/rotationpolicy), POST /keys/<name>/rotate keeping the key's kind and taking the policy's expiry,
// and the Azure Policy "Key Vault keys should have an expiration date" (Deny) refusing keys without one.
import type { KeyClient } from '@azure/keyvault-keys';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addIsoDuration } from '../../sandbox/keyvault/rotation-policy';
import { startSandbox, type RunningSandbox } from '../../sandbox/sandbox';
import { restError, SUB, TENANT } from './helpers';

let sb: RunningSandbox;
const noRetry = { retryOptions: { maxRetries: 0 } };
const keys = (vault: string, who?: string): KeyClient => sb.clients(who, noRetry).keys(vault);
const versionCount = async (vault: string, key: string): Promise<number> => {
  let n = 0;
  for await (const _ of keys(vault).listPropertiesOfKeyVersions(key)) n++;
  return n;
};

beforeAll(async () => {
  sb = await startSandbox({
    scenario: {
      seed: 5,
      tenantId: TENANT,
      subscriptions: [{ id: SUB, resourceGroups: [{ name: 'rg-rot', location: 'eastus' }] }],
      principals: [
        { name: 'operator', type: 'User' },
        { name: 'user', type: 'User' },
      ],
      vaults: [
        {
          name: 'kv-rot',
          keys: [
            {
              name: 'hsm',
              kty: 'RSA-HSM',
              keySize: 3072,
              rotationPolicy: {
                expiryTime: 'P90D',
                lifetimeActions: [
                  { action: 'Rotate', timeAfterCreate: 'P60D' },
                  { action: 'Notify', timeBeforeExpiry: 'P30D' },
                ],
              },
            },
            { name: 'plain', kty: 'RSA' },
          ],
        },
        { name: 'kv-strict', requireKeyExpiry: true, keys: [{ name: 'old', kty: 'RSA' }] },
      ],
      roleAssignments: [
        { role: 'Key Vault Crypto Officer', principal: 'operator', scope: 'vault:kv-rot' },
        { role: 'Key Vault Crypto Officer', principal: 'operator', scope: 'vault:kv-strict' },
        { role: 'Key Vault Crypto User', principal: 'user', scope: 'vault:kv-rot' },
      ],
    },
    operationDurationMs: 50,
  });
});
afterAll(async () => sb?.close());

describe('Key Vault rotation', () => {
  it('declares an RSA-HSM 3072 key with a rotation policy from the scenario', async () => {
    const key = await keys('kv-rot').getKey('hsm');
    expect(key.keyType).toBe('RSA-HSM');
    expect(key.key?.n?.length).toBe(384);
    const policy = await keys('kv-rot').getKeyRotationPolicy('hsm');
    expect(policy.expiresIn).toBe('P90D');
    expect(policy.id).toBe(`${sb.vaultUrl('kv-rot')}/keys/hsm/rotationpolicy`);
    expect(policy.lifetimeActions).toEqual([
      { action: 'Rotate', timeAfterCreate: 'P60D', timeBeforeExpiry: undefined },
      { action: 'Notify', timeAfterCreate: undefined, timeBeforeExpiry: 'P30D' },
    ]);
  });

  it('rotating keeps type, size and operations, and takes the expiry from the policy', async () => {
    const before = await keys('kv-rot').getKey('hsm');
    const rotated = await keys('kv-rot').rotateKey('hsm');
    expect(rotated.properties.version).not.toBe(before.properties.version);
    expect(rotated.keyType).toBe('RSA-HSM');
    expect(rotated.key?.n?.length).toBe(384);
    expect(rotated.keyOperations).toEqual(before.keyOperations);
    const created = rotated.properties.createdOn!.getTime() / 1000;
    expect(rotated.properties.expiresOn!.getTime() / 1000).toBe(addIsoDuration(created, 'P90D'));
    expect(addIsoDuration(created, 'P90D') - created).toBe(90 * 86_400);
    expect(
      sb.oplog.entries({ service: 'keyvault', method: 'POST', path: '/keys/hsm/rotate' }).at(-1)?.detail,
    ).toMatch(/^key rotated hsm kty=RSA-HSM version=[0-9a-f]{32} exp=/);
  });

  it('a key without a policy answers the default one and rotates without an expiry', async () => {
    const policy = await keys('kv-rot').getKeyRotationPolicy('plain');
    expect(policy.id).toBeUndefined();
    expect(policy.expiresIn).toBeUndefined();
    expect(policy.lifetimeActions).toEqual([
      { action: 'Notify', timeAfterCreate: undefined, timeBeforeExpiry: 'P30D' },
    ]);
    const rotated = await keys('kv-rot').rotateKey('plain');
    expect(rotated.keyType).toBe('RSA');
    expect(rotated.properties.expiresOn).toBeUndefined();
  });

  it('sets a rotation policy, validates it, and needs the rotation-policy permission', async () => {
    const set = await keys('kv-rot').updateKeyRotationPolicy('plain', {
      expiresIn: 'P1Y',
      lifetimeActions: [{ action: 'Rotate', timeBeforeExpiry: 'P30D' }],
    });
    expect(set.expiresIn).toBe('P1Y');
    expect(set.createdOn).toBeInstanceOf(Date);
    expect((await keys('kv-rot').getKeyRotationPolicy('plain')).lifetimeActions).toEqual([
      { action: 'Rotate', timeAfterCreate: undefined, timeBeforeExpiry: 'P30D' },
    ]);

    const tooShort = await restError(keys('kv-rot').updateKeyRotationPolicy('plain', { expiresIn: 'P7D' }));
    expect(tooShort.statusCode).toBe(400);
    expect(tooShort.message).toMatch(/expiryTime must be at least 28 days/);
    const noExpiry = await restError(
      keys('kv-rot').updateKeyRotationPolicy('plain', {
        lifetimeActions: [{ action: 'Notify', timeBeforeExpiry: 'P30D' }],
      }),
    );
    expect(noExpiry.message).toMatch(/timeBeforeExpiry needs attributes\.expiryTime/);

    const denied = await restError(
      keys('kv-rot', 'user').updateKeyRotationPolicy('plain', { expiresIn: 'P2Y' }),
    );
    expect(denied.statusCode).toBe(403);
    expect(denied.message).toMatch(/Action: 'Microsoft\.KeyVault\/vaults\/keyrotationpolicies\/write'/);
    expect((await keys('kv-rot').getKeyRotationPolicy('plain')).expiresIn).toBe('P1Y');
    expect((await restError(keys('kv-rot').getKeyRotationPolicy('nope'))).code).toBe('KeyNotFound');
  });
});

describe('the Azure Policy that requires key expiry (Deny)', () => {
  it('refuses creating or rotating to a version without an expiry, and nothing is created', async () => {
    const before = await versionCount('kv-strict', 'old');
    const created = await restError(keys('kv-strict').createRsaKey('old'));
    expect(created.statusCode).toBe(403);
    expect(created.code).toBe('Forbidden');
    expect(created.message).toMatch(
      /^Operation 'create' on key 'old' is denied by Azure Policy: 'Key Vault keys should have an expiration date'/,
    );
    // @azure/keyvault-keys 4.10 reads the body's error.innererror into details.error.innerError
    const details = (created as unknown as { details?: { error?: { innerError?: { code?: string } } } })
      .details;
    expect(details?.error?.innerError?.code).toBe('ForbiddenByPolicy');
    const rotated = await restError(keys('kv-strict').rotateKey('old'));
    expect(rotated.statusCode).toBe(403);
    expect(rotated.message).toMatch(/^Operation 'rotate' on key 'old' is denied by Azure Policy/);
    expect(await versionCount('kv-strict', 'old')).toBe(before);
  });

  it('allows a version with an expiry, and a rotation whose policy sets one', async () => {
    const expiresOn = new Date(Date.now() + 30 * 86_400_000);
    expiresOn.setMilliseconds(0);
    const created = await keys('kv-strict').createRsaKey('old', { keySize: 3072, expiresOn });
    expect(created.properties.expiresOn?.toISOString()).toBe(expiresOn.toISOString());
    await keys('kv-strict').updateKeyRotationPolicy('old', { expiresIn: 'P28D' });
    const rotated = await keys('kv-strict').rotateKey('old');
    expect(rotated.key?.n?.length).toBe(384);
    expect(rotated.properties.expiresOn).toBeInstanceOf(Date);
  });
});
