/**
 * The TypeScript KMS v2 plugin on its own: a real unix socket, a grpc-js client speaking the
 * /v2.KeyManagementService protocol, local AES-KW keys and the sandbox's Key Vault keys.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  KeyVaultKeyWrapper,
  kmsKeyIdFor,
  LocalAesKeyWrapper,
} from '../../conformance/kms-plugin/key-wrappers';
import { KmsV2Plugin, loadKmsPackage } from '../../conformance/kms-plugin/plugin';
import { startSandbox, type RunningSandbox } from '../../sandbox/sandbox';
import { testScenario } from '../sandbox/helpers';

type Unary = (req: object, cb: (err: grpc.ServiceError | null, res: Record<string, unknown>) => void) => void;

interface KmsClient {
  status(): Promise<{ version: string; healthz: string; key_id: string }>;
  encrypt(
    plaintext: Buffer,
    uid?: string,
  ): Promise<{ ciphertext: Buffer; key_id: string; annotations: Record<string, Buffer> }>;
  decrypt(req: {
    ciphertext: Buffer;
    key_id: string;
    annotations: Record<string, Buffer>;
    uid?: string;
  }): Promise<{ plaintext: Buffer }>;
  close(): void;
}

function kmsClient(socketPath: string): KmsClient {
  const v2 = loadKmsPackage().v2 as grpc.GrpcObject;
  const Ctor = v2.KeyManagementService as grpc.ServiceClientConstructor;
  const client = new Ctor(
    `unix://${socketPath}`,
    grpc.credentials.createInsecure(),
  ) as unknown as grpc.Client & Record<string, Unary>;
  const call = <T>(method: string, req: object) =>
    new Promise<T>((resolve, reject) =>
      client[method]!(req, (err, res) => (err ? reject(err) : resolve(res as T))),
    );
  return {
    status: () => call('Status', {}),
    encrypt: (plaintext, uid = 'uid-1') => call('Encrypt', { plaintext, uid }),
    decrypt: (req) => call('Decrypt', { uid: 'uid-2', ...req }),
    close: () => client.close(),
  };
}

async function rpcError(p: Promise<unknown>): Promise<grpc.ServiceError> {
  try {
    await p;
  } catch (e) {
    return e as grpc.ServiceError;
  }
  throw new Error('expected the RPC to fail');
}

const dir = mkdtempSync(join(tmpdir(), 'kms-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const localKey = (n: number) =>
  new LocalAesKeyWrapper(
    `https://kv-local.vault.azure.net/keys/kek/${String(n).padStart(32, '0')}`,
    randomBytes(32),
  );

describe('KMS v2 plugin with local AES-KW keys', () => {
  let plugin: KmsV2Plugin | undefined;
  let client: KmsClient | undefined;
  afterEach(async () => {
    client?.close();
    await plugin?.close();
  });

  async function start(current = localKey(1)) {
    const socketPath = join(dir, 'kms.sock');
    plugin = await KmsV2Plugin.start({ socketPath, slots: { current } });
    client = kmsClient(socketPath);
    return { plugin, client, socketPath };
  }

  it('serves Status on a unix socket with the hashed versioned key id', async () => {
    const k1 = localKey(1);
    const { client, socketPath, plugin } = await start(k1);
    expect(statSync(socketPath).isSocket()).toBe(true);
    const status = await client.status();
    expect(status).toEqual({ version: 'v2', healthz: 'ok', key_id: kmsKeyIdFor(k1.versionedKeyId) });
    expect(status.key_id).toMatch(/^[0-9a-f]{64}$/);
    expect(plugin.calls.map((c) => [c.method, c.ok])).toEqual([['Status', true]]);
  });

  it('wraps a seed under the current key and unwraps it again', async () => {
    const { client, plugin } = await start();
    const seed = randomBytes(32);
    const enc = await client.encrypt(seed);
    expect(enc.key_id).toBe(plugin.currentKeyId);
    expect(enc.ciphertext.length).toBe(40);
    expect(enc.ciphertext.includes(seed)).toBe(false);
    expect(Object.fromEntries(Object.entries(enc.annotations).map(([k, v]) => [k, v.toString()]))).toEqual({
      'version.azure.akv.io': '1',
      'algorithm.azure.akv.io': 'A256KW',
    });
    const dec = await client.decrypt({
      ciphertext: enc.ciphertext,
      key_id: enc.key_id,
      annotations: enc.annotations,
    });
    expect(dec.plaintext.equals(seed)).toBe(true);
    expect(plugin.calls.map((c) => [c.method, c.uid])).toEqual([
      ['Encrypt', 'uid-1'],
      ['Decrypt', 'uid-2'],
    ]);
  });

  it('keeps two slots: after one rotation the previous key still decrypts, after two it is refused', async () => {
    const [k1, k2, k3] = [localKey(1), localKey(2), localKey(3)];
    const { client, plugin } = await start(k1);
    const seed = randomBytes(32);
    const underK1 = await client.encrypt(seed);

    plugin.rotateTo(k2);
    expect((await client.status()).key_id).toBe(kmsKeyIdFor(k2.versionedKeyId));
    expect(plugin.previousKeyId).toBe(kmsKeyIdFor(k1.versionedKeyId));
    const underK2 = await client.encrypt(seed);
    expect(underK2.key_id).toBe(kmsKeyIdFor(k2.versionedKeyId));
    expect((await client.decrypt(underK1)).plaintext.equals(seed)).toBe(true);

    plugin.rotateTo(k3);
    const gone = await rpcError(client.decrypt(underK1));
    expect(gone.code).toBe(grpc.status.NOT_FOUND);
    expect(gone.details).toBe(
      `key_id ${underK1.key_id} is neither the current nor the previous key of this plugin`,
    );
    expect((await client.decrypt(underK2)).plaintext.equals(seed)).toBe(true);
    expect(plugin.calls.filter((c) => !c.ok).map((c) => [c.method, c.keyId])).toEqual([
      ['Decrypt', underK1.key_id],
    ]);
  });

  it('refuses a Decrypt whose annotations do not match the key', async () => {
    const { client } = await start();
    const enc = await client.encrypt(randomBytes(32));
    const e = await rpcError(
      client.decrypt({ ...enc, annotations: { 'version.azure.akv.io': Buffer.from('1') } }),
    );
    expect(e.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(e.details).toContain('algorithm=<none>');
  });

  it('reports unhealthy and fails Encrypt when the current key is unusable', async () => {
    const k1 = localKey(1);
    const { client } = await start(k1);
    k1.usable = false;
    const status = await client.status();
    expect(status.healthz).toBe(
      `key ${k1.versionedKeyId} unusable: Operation wrapKey is not allowed on a disabled key.`,
    );
    expect(status.key_id).toBe(kmsKeyIdFor(k1.versionedKeyId));
    const e = await rpcError(client.encrypt(randomBytes(32)));
    expect(e.code).toBe(grpc.status.INTERNAL);
  });

  it('waitForCall resolves on a later matching RPC and times out otherwise', async () => {
    const { client, plugin } = await start();
    const since = Date.now();
    const waiting = plugin.waitForCall((c) => c.method === 'Encrypt', 2_000, since);
    await client.status();
    await client.encrypt(randomBytes(32));
    expect((await waiting).method).toBe('Encrypt');
    await expect(plugin.waitForCall((c) => c.method === 'Decrypt', 100)).rejects.toThrow(
      'no matching call within 100 ms',
    );
  });
});

describe('KMS v2 plugin with Key Vault keys (sandbox, @azure/keyvault-keys CryptographyClient)', () => {
  let sb: RunningSandbox;
  beforeAll(async () => {
    sb = await startSandbox({
      scenario: testScenario({ clusters: [] }),
      operationDurationMs: 100,
      propagationDelayMs: 50,
    });
  });
  afterAll(async () => sb?.close());

  it('wraps seeds with RSA-OAEP-256 under a pinned key version and keeps the previous version readable', async () => {
    // id-kms has Key Vault Crypto User on kv-test, like the cluster's KMS identity.
    const clients = sb.clients('id-kms', { retryOptions: { maxRetries: 0 } });
    const operatorKeys = sb.clients(undefined, { retryOptions: { maxRetries: 0 } }).keys('kv-test');
    const versions: string[] = [];
    for await (const p of operatorKeys.listPropertiesOfKeyVersions('kms')) versions.push(p.id!);
    versions.sort();
    expect(versions.length).toBe(3);
    const wrapper = (id: string) => new KeyVaultKeyWrapper(id, clients.crypto(id));
    const socketPath = join(dir, 'kv.sock');
    const plugin = await KmsV2Plugin.start({ socketPath, slots: { current: wrapper(versions[0]!) } });
    const client = kmsClient(socketPath);
    try {
      expect(await client.status()).toEqual({
        version: 'v2',
        healthz: 'ok',
        key_id: kmsKeyIdFor(versions[0]!),
      });
      const seed = randomBytes(32);
      const enc = await client.encrypt(seed);
      expect(enc.ciphertext.length).toBe(256); // RSA-2048
      expect(enc.annotations['algorithm.azure.akv.io']?.toString()).toBe('RSA-OAEP-256');

      plugin.rotateTo(wrapper(versions[1]!));
      expect((await client.status()).key_id).toBe(kmsKeyIdFor(versions[1]!));
      expect((await client.decrypt(enc)).plaintext.equals(seed)).toBe(true);

      // Disabling the current version makes Status unhealthy, as the Azure plugin's health round trip does.
      const [name, version] = versions[1]!.split('/').slice(-2);
      await operatorKeys.updateKeyProperties(name!, version!, { enabled: false });
      const status = await client.status();
      expect(status.healthz).toMatch(
        /^key .* unusable: Operation wrapKey is not allowed on a disabled key\.$/,
      );
      const e = await rpcError(client.encrypt(seed));
      expect(e.code).toBe(grpc.status.INTERNAL);
      // The previous version still unwraps what it wrapped.
      expect((await client.decrypt(enc)).plaintext.equals(seed)).toBe(true);
    } finally {
      client.close();
      await plugin.close();
    }
  });
});
