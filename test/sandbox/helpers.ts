import type { RunningSandbox } from '../../sandbox/sandbox';
import type { ScenarioInput } from '../../sandbox/scenario';

export const SUB = '11111111-2222-4333-8444-555555555555';
export const TENANT = '72f988bf-0000-4000-a000-00000000c0de';
export const RG = 'rg-test';

/** Small estate for tests: one identity with Crypto User on a public RBAC vault, and two clusters. */
export function testScenario(overrides: Partial<ScenarioInput> = {}): ScenarioInput {
  return {
    seed: 42,
    tenantId: TENANT,
    subscriptions: [{ id: SUB, resourceGroups: [{ name: RG, location: 'eastus' }] }],
    principals: [
      { name: 'operator', type: 'User' },
      { name: 'outsider', type: 'User' },
    ],
    identities: [{ name: 'id-kms' }, { name: 'id-nokeys' }],
    vaults: [
      {
        name: 'kv-test',
        keys: [
          { name: 'kms', versions: 3 },
          { name: 'eckey', kty: 'EC' },
        ],
      },
      { name: 'kv-private', publicNetworkAccess: 'Disabled', keys: [{ name: 'kms', versions: 1 }] },
    ],
    roleAssignments: [
      { role: 'Key Vault Crypto Officer', principal: 'operator', scope: 'vault:kv-test' },
      { role: 'Key Vault Crypto Officer', principal: 'operator', scope: 'vault:kv-private' },
      { role: 'Key Vault Crypto User', principal: 'id-kms', scope: 'vault:kv-test' },
    ],
    clusters: [
      {
        name: 'c-legacy',
        kubernetesVersion: '1.26',
        identity: 'id-kms',
        kms: { vault: 'kv-test', key: 'kms', version: 1 },
        secrets: { count: 20, namespaces: 3, seed: 1, maxBytes: 4096 },
      },
      {
        name: 'c-modern',
        kubernetesVersion: '1.29',
        identity: 'id-kms',
        apiServerVnetIntegration: true,
        secrets: { count: 10, namespaces: 2, seed: 2, maxBytes: 4096 },
      },
      { name: 'c-system', kubernetesVersion: '1.29' },
    ],
    ...overrides,
  };
}

export async function waitFor<T>(
  probe: () => T | undefined | false,
  timeoutMs = 5_000,
  intervalMs = 25,
): Promise<T> {
  const start = Date.now();
  for (;;) {
    const value = probe();
    if (value) return value;
    if (Date.now() - start > timeoutMs) throw new Error('waitFor: timed out');
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

import * as https from 'node:https';
import { sandboxHttpsAgent, type SandboxEndpoints } from '../../sandbox/client-options';

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  json<T = unknown>(): T;
}

/** A plain HTTPS request through the sandbox agent (for what no SDK exposes: raw 401s, admin endpoints). */
export function rawRequest(
  endpoints: SandboxEndpoints,
  opts: { host: string; method?: string; path: string; headers?: Record<string, string>; body?: unknown },
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const payload = opts.body === undefined ? undefined : JSON.stringify(opts.body);
    const req = https.request(
      {
        host: opts.host,
        port: endpoints.port,
        method: opts.method ?? 'GET',
        path: opts.path,
        agent: sandboxHttpsAgent(endpoints),
        headers: {
          ...(payload
            ? { 'Content-Type': 'application/json', 'Content-Length': String(Buffer.byteLength(payload)) }
            : {}),
          ...opts.headers,
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const body = Buffer.concat(chunks).toString('utf8');
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body,
            json: <T>() => JSON.parse(body) as T,
          });
        });
      },
    );
    req.on('error', reject);
    if (payload) req.write(payload);
    req.end();
  });
}

export function admin(
  endpoints: SandboxEndpoints,
  method: string,
  path: string,
  body?: unknown,
): Promise<RawResponse> {
  return rawRequest(endpoints, {
    host: '127.0.0.1',
    method,
    path: `/_sandbox${path}`,
    ...(body !== undefined ? { body } : {}),
  });
}

/** The SDK error a promise rejects with; `name` is checked because SDKs may load another copy of RestError. */
export async function restError(
  p: Promise<unknown>,
): Promise<{ statusCode?: number; code?: string; message: string; name: string }> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err as Error,
  );
  if (!e || e.name !== 'RestError')
    throw new Error(`expected a RestError, got ${e ? `${e.name}: ${e.message}` : 'success'}`);
  return e as Error & { statusCode?: number; code?: string };
}

/** The versioned ids of key `key` in vault `vault`, oldest first, read as the operator. */
export async function keyVersionIds(sandbox: RunningSandbox, vault: string, key: string): Promise<string[]> {
  const versions: { id: string; created: number }[] = [];
  for await (const p of sandbox.clients().keys(vault).listPropertiesOfKeyVersions(key)) {
    versions.push({ id: p.id!, created: p.createdOn?.getTime() ?? 0 });
  }
  return versions.sort((a, b) => a.created - b.created).map((v) => v.id);
}
