/**
 * The sandbox (ARM, Key Vault, Kubernetes) in its own process, seeded with one cluster holding a
 * realistic estate under key version 1. The parent asks it to rotate the cluster to version 2 through
 * ARM (so every Secret is stale), and to check from the etcd view which key every Secret is stored
 * under. Added latency lives in a separate proxy process (latency-proxy.ts).
 *
 * The cluster's API server is the emulated one, or (`apiServer: 'real'`) the conformance tier's real
 * kube-apiserver + etcd + KMS v2 plugin, seeded through its API with the same estate generator; ARM's
 * key change then restarts it with the new key slots, as AKS rolls its control plane.
 */
import { RealBackedCluster } from '../../conformance/sandbox-cluster';
import { startSandbox, type RunningSandbox } from '../../sandbox/sandbox';
import type { ScenarioInput } from '../../sandbox/scenario';
import type { SandboxEndpoints, SandboxPrincipal } from '../../sandbox/client-options';
import type { EtcdViewEntry } from '../../sandbox/kube/types';
import { clusterId as formatClusterId } from '../../model/ids';
import { cpuSecondsOf, isChild, peakRssMb, serveRequests } from './child-process';

export const CLUSTER = 'aks-bench';
const RESOURCE_GROUP = 'rg-bench';
const VAULT = 'kv-bench';
const KEY = 'kms';

export type ApiServerKind = 'emulated' | 'real';

export interface EstateRequest {
  secrets: number;
  namespaces: number;
  seed: number;
  apiServer: ApiServerKind;
}

export interface SandboxInfo {
  endpoints: SandboxEndpoints;
  operator: SandboxPrincipal;
  clusterId: string;
  kubeconfig: string;
  /** The port the cluster's API server listens on (loopback). */
  apiServerPort: number;
  oldKeyId: string;
  newKeyId: string;
  /** Decoded bytes of Secret data in the seeded estate. */
  estateBytes: number;
  seedMs: number;
}

export interface ServerStats {
  peakRssMb: number;
  /** CPU seconds so far, seeding included: a measurement subtracts the reading taken before it. */
  cpuS: number;
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
        // The real API server is seeded through its API instead.
        ...(estate.apiServer === 'emulated'
          ? { secrets: { count: estate.secrets, namespaces: estate.namespaces, seed: estate.seed } }
          : {}),
      },
    ],
  };
}

function serve(): void {
  let sandbox: RunningSandbox;
  let real: RealBackedCluster | undefined;
  let info: SandboxInfo;

  const kube = () => sandbox.kubeCluster(CLUSTER)!;
  const etcdView = async (): Promise<EtcdViewEntry[]> => (real ? real.etcdView() : kube().etcdView());
  const writeKeyId = () => {
    const write = real ? real.getEncryption().write : kube().getEncryption().write;
    return write.type === 'kms-v2' ? write.keyId : undefined;
  };
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
      let bytes = 0;
      if (estate.apiServer === 'real') {
        real = await RealBackedCluster.attach({ sandbox, cluster: CLUSTER, kmsIdentity: 'id-kms' });
        const summary = await real.seed(
          { secrets: estate.secrets, namespaces: estate.namespaces, seed: estate.seed },
          16,
        );
        bytes = summary.bytes;
      } else for (const e of kube().etcdView()) bytes += e.bytes;
      const seedMs = performance.now() - t0;
      const kubeconfig = sandbox.kubeconfig(CLUSTER);
      const apiServerPort = Number(/server: https:\/\/127\.0\.0\.1:(\d+)/.exec(kubeconfig)?.[1]);
      if (!apiServerPort) throw new Error('the cluster kubeconfig names no loopback API server');
      info = {
        endpoints: sandbox.endpoints,
        operator: sandbox.operator,
        clusterId: formatClusterId({
          subscriptionId: sandbox.subscriptionId,
          resourceGroup: RESOURCE_GROUP,
          name: CLUSTER,
        }),
        kubeconfig,
        apiServerPort,
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
      while (writeKeyId() !== info.newKeyId) {
        if (Date.now() > deadline) throw new Error('the API server was not handed the new key within 30 s');
        await new Promise((r) => setTimeout(r, 20));
      }
      if (real) {
        await real.settled();
        const applied = real.history.at(-1);
        if (!applied?.ready) throw new Error('the real API server did not become ready with the new key');
      }
    },

    async checkEtcd(): Promise<EtcdCheck> {
      const check: EtcdCheck = { secrets: 0, underNewKey: 0, unreadable: 0, sample: [] };
      for (const e of await etcdView()) {
        check.secrets++;
        if (!e.readable) check.unreadable++;
        if (e.provider.type === 'kms-v2' && e.provider.keyId === info.newKeyId) check.underNewKey++;
        else if (check.sample.length < 5) check.sample.push(`${e.namespace}/${e.name}`);
      }
      return check;
    },

    /** Peak RSS and CPU so far of the process that serves the Kubernetes API: kube-apiserver, or this one. */
    async serverStats(): Promise<ServerStats> {
      const pid = real?.cp.apiserverPid;
      if (pid) return { peakRssMb: peakRssMb(pid), cpuS: cpuSecondsOf(pid) };
      const cpu = process.cpuUsage();
      return { peakRssMb: peakRssMb(), cpuS: (cpu.user + cpu.system) / 1e6 };
    },

    /** Stops the real control plane (a signal to this process would leave its processes behind). */
    async close(): Promise<void> {
      await real?.stop();
      await sandbox?.close();
    },
  });
}

if (isChild()) serve();
