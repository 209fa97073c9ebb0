/**
 * The env file a running sandbox writes for workers and the CLI (KEY=value lines), and its reader.
 * Holds endpoints, the CA path and the principal to act as; never a secret (sandbox tokens are minted locally).
 */
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import type { SandboxPrincipal } from './auth';
import type { SandboxEndpoints } from './client-options';

export const SANDBOX_ENV = {
  port: 'KMSFLOW_SANDBOX_PORT',
  caPath: 'KMSFLOW_SANDBOX_CA_PATH',
  armEndpoint: 'KMSFLOW_SANDBOX_ARM_ENDPOINT',
  adminUrl: 'KMSFLOW_SANDBOX_ADMIN_URL',
  subscriptionId: 'AZURE_SUBSCRIPTION_ID',
  tenantId: 'AZURE_TENANT_ID',
  principalObjectId: 'KMSFLOW_SANDBOX_PRINCIPAL_OBJECT_ID',
  principalClientId: 'KMSFLOW_SANDBOX_PRINCIPAL_CLIENT_ID',
} as const;

export interface SandboxEnv {
  endpoints: SandboxEndpoints;
  armEndpoint: string;
  adminUrl: string;
  caPath: string;
  subscriptionId: string;
  tenantId: string;
  principal: SandboxPrincipal;
}

/** Writes `path` and the CA next to it (`<path>.ca.pem`). */
export async function writeSandboxEnvFile(path: string, env: Omit<SandboxEnv, 'caPath'>): Promise<void> {
  const caPath = join(dirname(resolve(path)), `${resolve(path).split('/').pop() ?? 'sandbox.env'}.ca.pem`);
  await writeFile(caPath, env.endpoints.caPem, { mode: 0o644 });
  const lines = [
    `${SANDBOX_ENV.port}=${env.endpoints.port}`,
    `${SANDBOX_ENV.caPath}=${caPath}`,
    `${SANDBOX_ENV.armEndpoint}=${env.armEndpoint}`,
    `${SANDBOX_ENV.adminUrl}=${env.adminUrl}`,
    `${SANDBOX_ENV.subscriptionId}=${env.subscriptionId}`,
    `${SANDBOX_ENV.tenantId}=${env.tenantId}`,
    `${SANDBOX_ENV.principalObjectId}=${env.principal.objectId}`,
    ...(env.principal.clientId ? [`${SANDBOX_ENV.principalClientId}=${env.principal.clientId}`] : []),
  ];
  await writeFile(path, `${lines.join('\n')}\n`, { mode: 0o644 });
}

export function parseEnvFile(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^\s*([A-Z0-9_]+)=(.*)$/.exec(line);
    if (m?.[1]) out[m[1]] = (m[2] ?? '').trim();
  }
  return out;
}

/** Reads the sandbox settings from an env file or from `process.env`-like values; undefined if absent. */
export function readSandboxEnv(source: {
  file?: string;
  env?: Record<string, string | undefined>;
}): SandboxEnv | undefined {
  const env = source.file ? parseEnvFile(readFileSync(source.file, 'utf8')) : (source.env ?? process.env);
  const get = (k: string) => env[k];
  const port = Number(get(SANDBOX_ENV.port));
  const caPath = get(SANDBOX_ENV.caPath);
  const subscriptionId = get(SANDBOX_ENV.subscriptionId);
  const tenantId = get(SANDBOX_ENV.tenantId);
  const objectId = get(SANDBOX_ENV.principalObjectId);
  if (!port || !caPath || !subscriptionId || !tenantId || !objectId) return undefined;
  const clientId = get(SANDBOX_ENV.principalClientId);
  return {
    endpoints: { port, caPem: readFileSync(caPath, 'utf8') },
    armEndpoint: get(SANDBOX_ENV.armEndpoint) ?? `https://management.azure.com:${port}`,
    adminUrl: get(SANDBOX_ENV.adminUrl) ?? `https://127.0.0.1:${port}/_sandbox`,
    caPath,
    subscriptionId,
    tenantId,
    principal: { objectId, tenantId, ...(clientId ? { clientId } : {}) },
  };
}
