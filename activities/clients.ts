/**
 * The one client factory. Production clients use DefaultAzureCredential and Azure's public endpoints;
 * the worker builds sandbox clients from the same factory (worker/sandbox-clients.ts). Kubernetes access
 * for a cluster comes from ARM (user or admin credentials) or an explicit kubeconfig.
 */
import { AuthorizationManagementClient } from '@azure/arm-authorization';
import { ContainerServiceClient } from '@azure/arm-containerservice';
import { ContainerServiceFleetClient } from '@azure/arm-containerservicefleet';
import { KeyVaultManagementClient } from '@azure/arm-keyvault';
import { ManagedServiceIdentityClient } from '@azure/arm-msi';
import type { TokenCredential } from '@azure/core-auth';
import { DefaultAzureCredential } from '@azure/identity';
import { KeyClient, type KeyClientOptions } from '@azure/keyvault-keys';
import type { Agent } from 'node:http';
import { CoreV1Api, KubeConfig, VersionApi } from '@kubernetes/client-node';
import type { ClusterRef } from '../model/ids';
import { mapErrors } from './errors';
import { SecretsJsonClient, type SecretsApi } from './reencrypt/secrets-json';

export interface KubernetesClients {
  core: CoreV1Api;
  /** The re-encryption's hot path: Secrets as plain JSON over the same credentials and connections. */
  secrets: SecretsApi;
  version: VersionApi;
  /** For what has no typed client (the API server's health endpoints). */
  config: KubeConfig;
  /** The API server URL, for messages. */
  server: string;
}

export type KubernetesAccess =
  /** Cluster user credentials from ARM (`az aks get-credentials`), or admin ones (`--admin`). */
  | { kind: 'arm'; admin?: boolean }
  /** A kubeconfig file and optional context, for clusters whose ARM credentials are disabled. */
  | { kind: 'kubeconfig'; path: string; context?: string };

export interface ClientFactory {
  containerService(subscriptionId: string): ContainerServiceClient;
  /** Azure Kubernetes Fleet Manager: a fleet's members, for campaigns that select by fleet. */
  fleets(subscriptionId: string): ContainerServiceFleetClient;
  keyVaultManagement(subscriptionId: string): KeyVaultManagementClient;
  authorization(subscriptionId: string): AuthorizationManagementClient;
  msi(subscriptionId: string): ManagedServiceIdentityClient;
  /** A KeyClient for the vault at `vaultUrl` (the origin of a key id). */
  keys(vaultUrl: string): KeyClient;
  kubernetes(cluster: ClusterRef): Promise<KubernetesClients>;
}

export interface FactoryParts {
  credential: TokenCredential;
  armOptions: () => object;
  keyVaultOptions: () => KeyClientOptions;
  kubernetesAccess: KubernetesAccess;
}

function memo<K, V>(make: (key: K) => V): (key: K) => V {
  const cache = new Map<K, V>();
  return (key) => {
    if (!cache.has(key)) cache.set(key, make(key));
    return cache.get(key) as V;
  };
}

/** The clients for one credential and one set of client options: production's, the sandbox's (worker/sandbox-clients.ts). */
export function buildFactory(parts: FactoryParts): ClientFactory {
  const { credential } = parts;
  const containerService = memo(
    (sub: string) => new ContainerServiceClient(credential, sub, parts.armOptions()),
  );
  const kubernetes = new Map<string, Promise<KubernetesClients>>();
  return {
    containerService,
    fleets: memo((sub: string) => new ContainerServiceFleetClient(credential, sub, parts.armOptions())),
    keyVaultManagement: memo(
      (sub: string) => new KeyVaultManagementClient(credential, sub, parts.armOptions()),
    ),
    authorization: memo(
      (sub: string) => new AuthorizationManagementClient(credential, sub, parts.armOptions()),
    ),
    msi: memo((sub: string) => new ManagedServiceIdentityClient(credential, sub, parts.armOptions())),
    keys: memo((vaultUrl: string) => new KeyClient(vaultUrl, credential, parts.keyVaultOptions())),
    kubernetes(cluster) {
      const key = `${cluster.subscriptionId}/${cluster.resourceGroup}/${cluster.name}`.toLowerCase();
      let clients = kubernetes.get(key);
      if (!clients) {
        clients = connectKubernetes(
          parts.kubernetesAccess,
          cluster,
          containerService(cluster.subscriptionId),
        );
        kubernetes.set(key, clients);
        clients.catch(() => kubernetes.delete(key));
      }
      return clients;
    },
  };
}

type AgentFactory = (cluster: unknown, options: Record<string, unknown>) => Agent;

/**
 * client-node 1.4 builds a new https.Agent for every request, so every call pays a TLS handshake: against a
 * loopback API server that cut no-op PUTs to a third of the rate with one keep-alive agent (see
 * docs/benchmarks.md), and a remote one costs more. One keep-alive agent per kubeconfig instead.
 */
function reuseOneAgent(config: KubeConfig): void {
  const target = config as unknown as { createAgent: AgentFactory };
  const create = target.createAgent.bind(config);
  let agent: Agent | undefined;
  target.createAgent = (cluster, options) =>
    (agent ??= create(cluster, { ...options, keepAlive: true, maxSockets: 64 }));
}

async function connectKubernetes(
  access: KubernetesAccess,
  cluster: ClusterRef,
  arm: ContainerServiceClient,
): Promise<KubernetesClients> {
  return kubernetesClientsFor(await loadKubeConfig(access, cluster, arm));
}

/** Every Kubernetes client of one kubeconfig, sharing one keep-alive agent. */
export function kubernetesClientsFor(config: KubeConfig): KubernetesClients {
  reuseOneAgent(config);
  return {
    core: config.makeApiClient(CoreV1Api),
    secrets: new SecretsJsonClient(config),
    version: config.makeApiClient(VersionApi),
    config,
    server: config.getCurrentCluster()?.server ?? 'unknown',
  };
}

async function loadKubeConfig(
  access: KubernetesAccess,
  cluster: ClusterRef,
  arm: ContainerServiceClient,
): Promise<KubeConfig> {
  const config = new KubeConfig();
  if (access.kind === 'kubeconfig') {
    config.loadFromFile(access.path);
    if (access.context) config.setCurrentContext(access.context);
    return config;
  }
  const action = `Read ${access.admin ? 'admin' : 'user'} credentials of cluster ${cluster.name}`;
  const result = await mapErrors(action, () =>
    access.admin
      ? arm.managedClusters.listClusterAdminCredentials(cluster.resourceGroup, cluster.name)
      : arm.managedClusters.listClusterUserCredentials(cluster.resourceGroup, cluster.name),
  );
  const value = result.kubeconfigs?.[0]?.value;
  if (!value) throw new Error(`${action}: ARM returned no kubeconfig`);
  config.loadFromString(Buffer.from(value).toString('utf8'));
  return config;
}

export function createProductionClients(
  options: { credential?: TokenCredential; kubernetesAccess?: KubernetesAccess } = {},
): ClientFactory {
  return buildFactory({
    credential: options.credential ?? new DefaultAzureCredential(),
    armOptions: () => ({}),
    keyVaultOptions: () => ({}),
    kubernetesAccess: options.kubernetesAccess ?? { kind: 'arm' },
  });
}
