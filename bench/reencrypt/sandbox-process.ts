/**
 * The sandbox (ARM, Key Vault, Kubernetes) in its own process, seeded with one cluster holding a
 * realistic estate under key version 1. The parent asks it to rotate the cluster to version 2 through
 * ARM (so every Secret is stale), and to check from the etcd view which key every Secret is stored
 * under. Added latency lives in a separate proxy process (latency-proxy.ts).
 */
import { startSandbox, type RunningSandbox } from '../../sandbox/sandbox';
import type { ScenarioInput } from '../../sandbox/scenario';
import type { SandboxEndpoints, SandboxPrincipal } from '../../sandbox/client-options';
import { clusterId as formatClusterId } from '../../workflows/ids';
import { isChild, serveRequests } from './child-process';

export const CLUSTER = 'aks-bench';
const RESOURCE_GROUP = 'rg-bench';
const VAULT = 'kv-bench';
const KEY = 'kms';

export interface EstateRequest {
  secrets: number;
  namespaces: number;
  seed: number;
}

export interface SandboxInfo {
  endpoints: SandboxEndpoints;
  operator: SandboxPrincipal;
  clusterId: string;
  kubeconfig: string;
  oldKeyId: string;
  newKeyId: string;
  /** Decoded bytes of Secret data in the seeded estate. */
  estateBytes: number;
  seedMs: number;
}

export interface EtcdCheck {
  secrets: number;
  underNewKey: number;
  unreadable: number;
  /** Up to 5 namespace/name of Secrets not under the new key. */
  sample: string[];
}

function scenario(estate: EstateRequest): ScenarioInput {
  return {
    seed: estate.seed,
    tenantId: '72f988bf-0000-4000-a000-0000000be7c4',
    subscriptions: [
      {
        id: '11111111-2222-4333-8444-0000000be7c4',
        resourceGroups: [{ name: RESOURCE_GROUP, location: 'eastus' }],
      },
    ],
    principals: [{ name: 'operator', type: 'User' }],
    operator: 'operator',
    identities: [{ name: 'id-kms' }],
    vaults: [{ name: VAULT, enablePurgeProtection: true, keys: [{ name: KEY, versions: 2 }] }],
    roleAssignments: [
      { role: 'Key Vault Crypto Officer', principal: 'operator', scope: `vault:${VAULT}` },
      { role: 'Key Vault Crypto User', principal: 'id-kms', scope: `vault:${VAULT}` },
    ],
    clusters: [
      {
        name: CLUSTER,
        resourceGroup: RESOURCE_GROUP,
        // kubectl's dispatcher then runs its built-in v1.32.4, the version measured in reference/kubernetes.md §8.
        kubernetesVersion: '1.32',
        identity: 'id-kms',
        kms: { vault: VAULT, key: KEY, version: 1, networkAccess: 'Public' },
        secrets: { count: estate.secrets, namespaces: estate.namespaces, seed: estate.seed },
      },
    ],
  };
}

function serve(): void {
  let sandbox: RunningSandbox;
  let info: SandboxInfo;

  const kube = () => sandbox.kubeCluster(CLUSTER)!;
  const keyId = (index: number) =>
    `${sandbox.vaultUrl(VAULT)}/keys/${KEY}/${sandbox.context.store.vaultByName(VAULT)!.keys[KEY]!.versions[index]!.version}`;

  serveRequests({
    async start(estate: EstateRequest): Promise<SandboxInfo> {
      const t0 = performance.now();
      sandbox = await startSandbox({
        scenario: scenario(estate),
        operationDurationMs: 100,
        propagationDelayMs: 0,
      });
      const seedMs = performance.now() - t0;
      let bytes = 0;
      for (const e of kube().etcdView()) bytes += e.bytes;
      info = {
        endpoints: sandbox.endpoints,
        operator: sandbox.operator,
        clusterId: formatClusterId({
          subscriptionId: sandbox.subscriptionId,
          resourceGroup: RESOURCE_GROUP,
          name: CLUSTER,
        }),
        kubeconfig: sandbox.kubeconfig(CLUSTER),
        oldKeyId: keyId(0),
        newKeyId: keyId(1),
        estateBytes: bytes,
        seedMs,
      };
      return info;
    },

    /** The key change through ARM, as `az aks update --azure-keyvault-kms-key-id <v2>` does it. */
    async rotate(): Promise<void> {
      const cs = sandbox.clients(undefined, { retryOptions: { maxRetries: 0 } }).containerService;
      const mc = await cs.managedClusters.get(RESOURCE_GROUP, CLUSTER);
      const kms = { ...mc.securityProfile!.azureKeyVaultKms, keyId: info.newKeyId };
      await cs.managedClusters.beginCreateOrUpdateAndWait(
        RESOURCE_GROUP,
        CLUSTER,
        { ...mc, securityProfile: { azureKeyVaultKms: kms } },
        { updateIntervalInMs: 50 },
      );
      const deadline = Date.now() + 30_000;
      while ((kube().getEncryption().write as { keyId?: string }).keyId !== info.newKeyId) {
        if (Date.now() > deadline)
          throw new Error('the emulated API server did not pick up the new key within 30 s');
        await new Promise((r) => setTimeout(r, 20));
      }
    },

    async checkEtcd(): Promise<EtcdCheck> {
      const check: EtcdCheck = { secrets: 0, underNewKey: 0, unreadable: 0, sample: [] };
      for (const e of kube().etcdView()) {
        check.secrets++;
        if (!e.readable) check.unreadable++;
        if (e.provider.type === 'kms-v2' && e.provider.keyId === info.newKeyId) check.underNewKey++;
        else if (check.sample.length < 5) check.sample.push(`${e.namespace}/${e.name}`);
      }
      return check;
    },
  });
}

if (isChild()) serve();
