import type { PipelinePolicy } from '@azure/core-rest-pipeline';
import { CryptographyClient, KeyClient } from '@azure/keyvault-keys';
import * as https from 'node:https';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  sandboxKeyVaultClientOptions,
  SandboxCredential,
  sandboxLookupFor,
} from '../../sandbox/client-options';
import { VaultKeyUsability } from '../../sandbox/keyvault/usability';
import { startSandbox, type RunningSandbox } from '../../sandbox/sandbox';
import { RG, rawRequest, testScenario, restError } from './helpers';

let sb: RunningSandbox;
const noRetry = { retryOptions: { maxRetries: 0 } };

beforeAll(async () => {
  sb = await startSandbox({
    scenario: testScenario({ clusters: [] }),
    operationDurationMs: 100,
    propagationDelayMs: 50,
  });
});
afterAll(async () => sb?.close());

/** Sends requests through a new agent (the sandbox CA and host mapping, no pooled connections). */
function freshAgentPolicy(): PipelinePolicy {
  const agent = new https.Agent({ ca: sb.endpoints.caPem, lookup: sandboxLookupFor(sb.endpoints) });
  return {
    name: 'freshAgent',
    sendRequest(request, next) {
      request.agent = agent;
      return next(request);
    },
  };
}

describe('Key Vault data plane', () => {
  it('challenges a request without a token with 401 and WWW-Authenticate naming the tenant', async () => {
    const res = await rawRequest(sb.endpoints, {
      host: 'kv-test.vault.azure.net',
      path: '/keys/kms?api-version=7.6',
    });
    expect(res.status).toBe(401);
    expect(res.headers['www-authenticate']).toBe(
      `Bearer authorization="https://login.microsoftonline.com/${sb.tenantId}", resource="https://vault.azure.net"`,
    );
    expect(res.json()).toEqual({
      error: { code: 'Unauthorized', message: 'AKV10000: Request is missing a Bearer or PoP token.' },
    });
  });

  it('creates RSA and EC keys, lists versions, updates attributes (KeyClient with challenge auth)', async () => {
    const keys = sb.clients(undefined, noRetry).keys('kv-test');
    const rsa = await keys.createRsaKey('fresh', { keySize: 2048 });
    expect(rsa.keyType).toBe('RSA');
    expect(rsa.id).toMatch(
      new RegExp(`^https://kv-test\\.vault\\.azure\\.net:${sb.port}/keys/fresh/[0-9a-f]{32}$`),
    );
    const ec = await keys.createKey('fresh-ec', 'EC');
    expect(ec.keyType).toBe('EC');
    expect(ec.key?.crv).toBe('P-256');
    const rotated = await keys.rotateKey('fresh');
    expect(rotated.properties.version).not.toBe(rsa.properties.version);

    const versions = [];
    for await (const v of keys.listPropertiesOfKeyVersions('fresh')) versions.push(v.version);
    expect(versions.sort()).toEqual([rsa.properties.version, rotated.properties.version].sort());

    const exp = new Date(Date.now() + 86_400_000);
    exp.setMilliseconds(0);
    const updated = await keys.updateKeyProperties('fresh', rsa.properties.version!, {
      enabled: false,
      expiresOn: exp,
    });
    expect(updated.properties.enabled).toBe(false);
    expect(updated.properties.expiresOn?.toISOString()).toBe(exp.toISOString());
    const latest = await keys.getKey('fresh');
    expect(latest.properties.version).toBe(rotated.properties.version);
    expect(latest.properties.enabled).toBe(true);

    const missing = await restError(keys.getKey('nope'));
    expect(missing.statusCode).toBe(404);
    expect(missing.code).toBe('KeyNotFound');
    expect(missing.message).toBe('A key with (name/id) nope was not found in this key vault.');
    // the challenge round trip shows up as a 401 first, then the real create
    expect(
      sb.oplog
        .entries({ service: 'keyvault', method: 'POST', path: '/keys/fresh/create' })
        .map((e) => e.status),
    ).toEqual([401, 200]);
  });

  it('wraps and unwraps with RSA-OAEP-256, keyed by the version; disabled versions refuse', async () => {
    const cred = sb.credential();
    const keys = sb.clients(undefined, noRetry).keys('kv-test');
    const k1 = await keys.createRsaKey('wrapper');
    const k2 = await keys.rotateKey('wrapper');
    const c1 = new CryptographyClient(k1.id!, cred, sandboxKeyVaultClientOptions(sb.endpoints, noRetry));
    const c2 = new CryptographyClient(k2.id!, cred, sandboxKeyVaultClientOptions(sb.endpoints, noRetry));
    const dek = Buffer.from('0123456789abcdef0123456789abcdef');
    const wrapped = await c1.wrapKey('RSA-OAEP-256', dek);
    expect(wrapped.keyID).toBe(k1.id);
    expect(Buffer.from((await c1.unwrapKey('RSA-OAEP-256', wrapped.result)).result).equals(dek)).toBe(true);
    const wrongVersion = await restError(c2.unwrapKey('RSA-OAEP-256', wrapped.result));
    expect(wrongVersion.statusCode).toBe(400);

    await keys.updateKeyProperties('wrapper', k1.properties.version!, { enabled: false });
    const disabled = await restError(c1.wrapKey('RSA-OAEP-256', dek));
    expect(disabled.statusCode).toBe(403);
    expect(disabled.message).toBe('Operation wrapKey is not allowed on a disabled key.');
  });

  it('answers ForbiddenByFirewall when public access is disabled, and lets a private-link caller in', async () => {
    const outside = new KeyClient(
      sb.vaultUrl('kv-private'),
      sb.credential(),
      sandboxKeyVaultClientOptions(sb.endpoints, noRetry),
    );
    const e = await restError(outside.getKey('kms'));
    expect(e.statusCode).toBe(403);
    expect(e.code).toBe('Forbidden');
    expect(e.message).toMatch(
      /^Client address is not authorized and caller is not a trusted service\.\r\nClient address: 198\.51\.100\.7\r\n/,
    );
    const token = await sb.credential().getToken('https://vault.azure.net/.default');
    const raw = await rawRequest(sb.endpoints, {
      host: 'kv-private.vault.azure.net',
      path: '/keys/kms?api-version=7.6',
      headers: { Authorization: `Bearer ${token.token}` },
    });
    expect(raw.status).toBe(403);
    expect(raw.json<{ error: { innererror: { code: string } } }>().error.innererror.code).toBe(
      'ForbiddenByFirewall',
    );

    const inside = new KeyClient(
      sb.vaultUrl('kv-private'),
      sb.credential(undefined, { network: 'private-link' }),
      sandboxKeyVaultClientOptions(sb.endpoints, noRetry),
    );
    expect((await inside.getKey('kms')).name).toBe('kms');
  });

  it('firewall ipRules admit a listed client address', async () => {
    const arm = sb.clients(undefined, noRetry).keyVaultManagement;
    await arm.vaults.update(RG, 'kv-test', {
      properties: {
        networkAcls: {
          defaultAction: 'Deny',
          bypass: 'AzureServices',
          ipRules: [{ value: '203.0.113.0/24' }],
        },
      },
    });
    try {
      const blocked = new KeyClient(
        sb.vaultUrl('kv-test'),
        sb.credential(),
        sandboxKeyVaultClientOptions(sb.endpoints, noRetry),
      );
      expect((await restError(blocked.getKey('kms'))).statusCode).toBe(403);
      const listed = new KeyClient(
        sb.vaultUrl('kv-test'),
        sb.credential(undefined, { clientAddress: '203.0.113.9' }),
        sandboxKeyVaultClientOptions(sb.endpoints, noRetry),
      );
      expect((await listed.getKey('kms')).name).toBe('kms');
    } finally {
      await arm.vaults.update(RG, 'kv-test', {
        properties: { networkAcls: { defaultAction: 'Allow', bypass: 'AzureServices', ipRules: [] } },
      });
    }
  });

  it('answers 403 ForbiddenByRbac with the real message to a principal without a role', async () => {
    const keys = new KeyClient(
      sb.vaultUrl('kv-test'),
      sb.credential('outsider'),
      sandboxKeyVaultClientOptions(sb.endpoints, noRetry),
    );
    const e = await restError(keys.getKey('kms'));
    expect(e.statusCode).toBe(403);
    expect(e.message).toMatch(
      /^Caller is not authorized to perform action on resource\.\r\nIf role assignments, deny assignments or role definitions were changed recently, please observe propagation time\.\r\nCaller: appid=.*\r\nAction: 'Microsoft\.KeyVault\/vaults\/keys\/read'\r\n/,
    );
    // the cluster identity holds Crypto User: it may read and wrap but not create keys
    const identity = new KeyClient(
      sb.vaultUrl('kv-test'),
      sb.credential('id-kms'),
      sandboxKeyVaultClientOptions(sb.endpoints, noRetry),
    );
    expect((await identity.getKey('kms')).name).toBe('kms');
    const denied = await restError(identity.createRsaKey('not-allowed'));
    expect(denied.message).toMatch(/Action: 'Microsoft\.KeyVault\/vaults\/keys\/create\/action'/);
  });

  it('a vault that does not exist does not resolve, as its host name would not in Azure', async () => {
    const missing = await restError(sb.clients(undefined, noRetry).keys('kv-missing').getKey('kms'));
    expect(missing.statusCode).toBeUndefined();
    expect(missing.code).toBe('ENOTFOUND');
    expect(missing.message).toBe('getaddrinfo ENOTFOUND kv-missing.vault.azure.net');
    // it resolves again once such a vault exists, and stops when it is gone
    const store = sb.context.store.state;
    store.vaults.push({ ...store.vaults.find((v) => v.name === 'kv-test')!, name: 'kv-missing', keys: {} });
    try {
      // the vault answers (the operator holds no role on it)
      const e = await restError(sb.clients(undefined, noRetry).keys('kv-missing').getKey('kms'));
      expect(e.statusCode).toBe(403);
    } finally {
      store.vaults = store.vaults.filter((v) => v.name !== 'kv-missing');
    }
    const gone = await restError(
      new KeyClient(
        sb.vaultUrl('kv-missing'),
        sb.credential(),
        // a fresh agent: the keep-alive connection of the vault that existed is not reused
        { additionalPolicies: [{ policy: freshAgentPolicy(), position: 'perCall' }], ...noRetry },
      ).getKey('kms'),
    );
    expect(gone.code).toBe('ENOTFOUND');
  });

  it('refuses a token from another tenant', async () => {
    const keys = new KeyClient(
      sb.vaultUrl('kv-test'),
      new SandboxCredential({ ...sb.operator, tenantId: '00000000-0000-4000-8000-00000000beef' }),
      {
        ...sandboxKeyVaultClientOptions(sb.endpoints, noRetry),
        disableChallengeResourceVerification: true,
      },
    );
    const e = await restError(keys.getKey('kms'));
    expect(e.statusCode).toBe(401);
    expect(e.message).toMatch(/^AKV10032: Invalid issuer/);
  });

  it('KeyUsability: usable only when the version exists, is enabled and not expired', async () => {
    const usability = new VaultKeyUsability(sb.context.store);
    const keys = sb.clients(undefined, noRetry).keys('kv-test');
    const k = await keys.createRsaKey('usable');
    expect(usability.keyProblem(k.id!)).toBeUndefined();
    expect(usability.keyProblem(`${sb.vaultUrl('kv-test')}/keys/usable/${'0'.repeat(32)}`)).toMatch(
      /disabled, expired or no longer exists/,
    );
    expect(usability.keyProblem(`${sb.vaultUrl('kv-test')}/keys/usable`)).toMatch(
      /disabled, expired or no longer exists/,
    );
    await keys.updateKeyProperties('usable', k.properties.version!, {
      expiresOn: new Date(Date.now() - 1_000),
    });
    expect(usability.keyProblem(k.id!)).toMatch(/disabled, expired or no longer exists/);
    await keys.updateKeyProperties('usable', k.properties.version!, {
      expiresOn: new Date(Date.now() + 3_600_000),
      enabled: false,
    });
    expect(usability.keyProblem(k.id!)).toMatch(/disabled, expired or no longer exists/);
    await keys.updateKeyProperties('usable', k.properties.version!, { enabled: true });
    expect(usability.keyProblem(k.id!)).toBeUndefined();
  });
});

describe('Key vaults on ARM (@azure/arm-keyvault)', () => {
  it('GET, PATCH publicNetworkAccess and a GET + PUT round trip', async () => {
    const arm = sb.clients(undefined, noRetry).keyVaultManagement;
    const vault = await arm.vaults.get(RG, 'kv-test');
    expect(vault.properties.tenantId).toBe(sb.tenantId);
    expect(vault.properties.enableRbacAuthorization).toBe(true);
    expect(vault.properties.enablePurgeProtection).toBe(true);
    expect(vault.properties.vaultUri).toBe(`${sb.vaultUrl('kv-test')}/`);

    const patched = await arm.vaults.update(RG, 'kv-test', {
      properties: { publicNetworkAccess: 'Disabled' },
    });
    expect(patched.properties.publicNetworkAccess).toBe('Disabled');
    const keys = sb.clients(undefined, noRetry).keys('kv-test');
    expect((await restError(keys.getKey('kms'))).statusCode).toBe(403);

    const full = await arm.vaults.get(RG, 'kv-test');
    const put = await arm.vaults.createOrUpdate(RG, 'kv-test', {
      location: full.location!,
      properties: { ...full.properties, publicNetworkAccess: 'Enabled' },
    });
    expect(put.properties.publicNetworkAccess).toBe('Enabled');
    expect((await keys.getKey('kms')).name).toBe('kms');

    const e = await restError(
      arm.vaults.update(RG, 'kv-test', { properties: { enablePurgeProtection: false } }),
    );
    expect(e.statusCode).toBe(400);
    expect(
      sb.oplog.entries({ service: 'arm', method: 'PATCH', path: '/vaults/kv-test' }).length,
    ).toBeGreaterThanOrEqual(2);
  });
});
