/**
 * How every official Azure client is pointed at the sandbox. The activities' client factory, the tests and
 * the demo all construct clients through these helpers, so this is the only place that knows the options
 * each SDK takes (modular ARM clients: `endpoint`; classic ARM clients: `endpoint` + `$host`; Key Vault:
 * the vault URL), how the sandbox CA is trusted (an `https.Agent` set on every request by a pipeline
 * policy) and how Azure host names reach 127.0.0.1 (the agent's `lookup`). As in Azure, the host name of a vault
 * that does not exist does not resolve: the lookup asks the sandbox and fails with `getaddrinfo ENOTFOUND`.
 */
import * as dns from 'node:dns';
import * as https from 'node:https';
import type { LookupFunction } from 'node:net';
import type { AccessToken, GetTokenOptions, TokenCredential } from '@azure/core-auth';
import type { PipelinePolicy, PipelineRetryOptions } from '@azure/core-rest-pipeline';
import { AuthorizationManagementClient } from '@azure/arm-authorization';
import { ContainerServiceClient } from '@azure/arm-containerservice';
import { KeyVaultManagementClient } from '@azure/arm-keyvault';
import { ManagedServiceIdentityClient } from '@azure/arm-msi';
import { CryptographyClient, KeyClient, type KeyClientOptions } from '@azure/keyvault-keys';
import { issueSandboxToken, type SandboxPrincipal } from './auth';

export { type SandboxPrincipal, type SandboxNetwork } from './auth';

/** What a client needs to reach a running sandbox. Produced by `RunningSandbox.endpoints`. */
export interface SandboxEndpoints {
  /** TCP port of the sandbox's HTTPS server on 127.0.0.1. */
  port: number;
  /** PEM of the sandbox CA. */
  caPem: string;
}

export const ARM_HOST = 'management.azure.com';
export const VAULT_DNS_SUFFIX = 'vault.azure.net';

function withPort(port: number): string {
  return port === 443 ? '' : `:${port}`;
}

/** `https://management.azure.com:PORT`. */
export function armEndpoint(endpoints: SandboxEndpoints): string {
  return `https://${ARM_HOST}${withPort(endpoints.port)}`;
}

/** `https://<vault>.vault.azure.net:PORT`, the URL a KeyClient takes. */
export function vaultUrl(endpoints: SandboxEndpoints, vaultName: string): string {
  return `https://${vaultName}.${VAULT_DNS_SUFFIX}${withPort(endpoints.port)}`;
}

/** `https://127.0.0.1:PORT/k8s/<cluster>`, the API server URL in a sandbox kubeconfig. */
export function kubeServerUrl(endpoints: SandboxEndpoints, clusterName: string): string {
  return `https://127.0.0.1:${endpoints.port}/k8s/${encodeURIComponent(clusterName)}`;
}

/** True for host names the sandbox answers as (they resolve to 127.0.0.1 through `sandboxLookup`). */
export function isSandboxHostname(hostname: string): boolean {
  const host = hostname.toLowerCase();
  return (
    host === ARM_HOST ||
    host === 'localhost' ||
    (host.endsWith(`.${VAULT_DNS_SUFFIX}`) &&
      /^[a-z0-9-]+$/.test(host.slice(0, -VAULT_DNS_SUFFIX.length - 1)))
  );
}

/** A `net` lookup that resolves the sandbox host names to 127.0.0.1 and leaves every other name to DNS. */
export const sandboxLookup: LookupFunction = (hostname, options, callback) => {
  if (!isSandboxHostname(hostname)) {
    dns.lookup(
      hostname,
      options,
      callback as (
        err: NodeJS.ErrnoException | null,
        address: string | dns.LookupAddress[],
        family?: number,
      ) => void,
    );
    return;
  }
  if (options.all) {
    (callback as unknown as (err: null, addresses: dns.LookupAddress[]) => void)(null, [
      { address: '127.0.0.1', family: 4 },
    ]);
  } else {
    callback(null, '127.0.0.1', 4);
  }
};

/** The error `dns.lookup` gives for a name that does not exist (NXDOMAIN). */
function hostNotFound(hostname: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), {
    errno: -3008,
    code: 'ENOTFOUND',
    syscall: 'getaddrinfo',
    hostname,
  });
}

const dnsAgents = new Map<string, https.Agent>();

/** Asks the sandbox whether `hostname` resolves (a vault's name does while the vault exists). */
function sandboxResolves(endpoints: SandboxEndpoints, hostname: string, done: (resolves: boolean) => void) {
  let agent = dnsAgents.get(endpoints.caPem);
  if (!agent) {
    agent = new https.Agent({ ca: endpoints.caPem, keepAlive: true });
    dnsAgents.set(endpoints.caPem, agent);
  }
  let answered = false;
  const answer = (resolves: boolean) => {
    if (answered) return;
    answered = true;
    done(resolves);
  };
  const req = https.request(
    {
      host: '127.0.0.1',
      port: endpoints.port,
      method: 'GET',
      path: `/_sandbox/dns/${encodeURIComponent(hostname)}`,
      agent,
      timeout: 10_000,
    },
    (res) => {
      res.resume();
      res.on('end', () => answer(res.statusCode !== 404));
      res.on('error', () => answer(true));
    },
  );
  // A sandbox that cannot answer: resolve anyway and let the connection itself fail, as before.
  req.on('error', () => answer(true));
  req.on('timeout', () => req.destroy());
  req.end();
}

/** `sandboxLookup`, except that a vault's host name resolves only while the sandbox holds that vault. */
export function sandboxLookupFor(endpoints: SandboxEndpoints): LookupFunction {
  return (hostname, options, callback) => {
    const host = hostname.toLowerCase();
    if (!isSandboxHostname(host) || !host.endsWith(`.${VAULT_DNS_SUFFIX}`)) {
      sandboxLookup(hostname, options, callback);
      return;
    }
    sandboxResolves(endpoints, host, (resolves) => {
      if (resolves) sandboxLookup(hostname, options, callback);
      else callback(hostNotFound(hostname), options.all ? [] : '', 0);
    });
  };
}

const agents = new Map<string, https.Agent>();

/** One keep-alive agent per sandbox: trusts the sandbox CA and resolves Azure host names to loopback. */
export function sandboxHttpsAgent(endpoints: SandboxEndpoints): https.Agent {
  const id = `${endpoints.port}\n${endpoints.caPem}`;
  let agent = agents.get(id);
  if (!agent) {
    agent = new https.Agent({ ca: endpoints.caPem, lookup: sandboxLookupFor(endpoints), keepAlive: true });
    agents.set(id, agent);
  }
  return agent;
}

/** A pipeline policy that sends every request through the sandbox agent. */
export function sandboxAgentPolicy(endpoints: SandboxEndpoints): PipelinePolicy {
  const agent = sandboxHttpsAgent(endpoints);
  return {
    name: 'kmsflowSandboxAgent',
    sendRequest(request, next) {
      request.agent = agent;
      return next(request);
    },
  };
}

export interface SandboxClientTuning {
  /** Passed to the SDK's retry policy; tests usually want `{ maxRetries: 0 }` so retries stay visible. */
  retryOptions?: PipelineRetryOptions;
}

/**
 * Options for the ARM clients: `@azure/arm-containerservice` and `@azure/arm-keyvault` (modular, read
 * `endpoint`), `@azure/arm-authorization` and `@azure/arm-msi` (classic, read `endpoint`, fall back to `$host`).
 * A fresh object on every call: some SDK constructors mutate their options.
 */
export function sandboxAzureClientOptions(endpoints: SandboxEndpoints, tuning: SandboxClientTuning = {}) {
  const endpoint = armEndpoint(endpoints);
  return {
    endpoint,
    $host: endpoint,
    additionalPolicies: [{ policy: sandboxAgentPolicy(endpoints), position: 'perCall' as const }],
    ...(tuning.retryOptions ? { retryOptions: tuning.retryOptions } : {}),
  };
}

/**
 * Options for `KeyClient` and `CryptographyClient`. The vault host names are real (`<vault>.vault.azure.net`),
 * so the Key Vault challenge-resource check passes unchanged. Fresh object per call: KeyClient mutates it.
 */
export function sandboxKeyVaultClientOptions(
  endpoints: SandboxEndpoints,
  tuning: SandboxClientTuning = {},
): KeyClientOptions {
  return {
    additionalPolicies: [{ policy: sandboxAgentPolicy(endpoints), position: 'perCall' }],
    ...(tuning.retryOptions ? { retryOptions: tuning.retryOptions } : {}),
  };
}

/** A TokenCredential whose tokens name `principal`; any scope is accepted, as Entra ID would for a real principal. */
export class SandboxCredential implements TokenCredential {
  constructor(
    readonly principal: SandboxPrincipal,
    private readonly lifetimeMs = 3_600_000,
  ) {}

  async getToken(scopes: string | string[], _options?: GetTokenOptions): Promise<AccessToken> {
    const scope = (Array.isArray(scopes) ? scopes[0] : scopes) ?? `https://${ARM_HOST}/.default`;
    const expiresOnTimestamp = Date.now() + this.lifetimeMs;
    return {
      token: issueSandboxToken(this.principal, scope, expiresOnTimestamp),
      expiresOnTimestamp,
      tokenType: 'Bearer',
    };
  }
}

/** Every official client kmsflow uses, constructed against the sandbox. */
export interface SandboxAzureClients {
  containerService: ContainerServiceClient;
  keyVaultManagement: KeyVaultManagementClient;
  authorization: AuthorizationManagementClient;
  msi: ManagedServiceIdentityClient;
  keys(vaultName: string): KeyClient;
  crypto(versionedKeyId: string): CryptographyClient;
}

export function createSandboxAzureClients(
  endpoints: SandboxEndpoints,
  credential: TokenCredential,
  subscriptionId: string,
  tuning: SandboxClientTuning = {},
): SandboxAzureClients {
  return {
    containerService: new ContainerServiceClient(
      credential,
      subscriptionId,
      sandboxAzureClientOptions(endpoints, tuning),
    ),
    keyVaultManagement: new KeyVaultManagementClient(
      credential,
      subscriptionId,
      sandboxAzureClientOptions(endpoints, tuning),
    ),
    authorization: new AuthorizationManagementClient(
      credential,
      subscriptionId,
      sandboxAzureClientOptions(endpoints, tuning),
    ),
    msi: new ManagedServiceIdentityClient(
      credential,
      subscriptionId,
      sandboxAzureClientOptions(endpoints, tuning),
    ),
    keys: (vaultName) =>
      new KeyClient(
        vaultUrl(endpoints, vaultName),
        credential,
        sandboxKeyVaultClientOptions(endpoints, tuning),
      ),
    crypto: (keyId) =>
      new CryptographyClient(keyId, credential, sandboxKeyVaultClientOptions(endpoints, tuning)),
  };
}
