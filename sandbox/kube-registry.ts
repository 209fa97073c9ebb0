/**
 * The Kubernetes API servers of the sandbox, one per managed cluster (emulated, or an external one
 * attached in its place), and the delayed hand-over of encryption / version changes from ARM to them
 * (the propagation delay of a real AKS control plane).
 */
import type { ClusterEncryption, FaultHook, KeyUsability, OperationRecorder } from './contracts';
import type { ExternalApiServer } from './external-cluster';
import { EmulatedKubeCluster, type KubeClusterSnapshot } from './kube/cluster';

export interface KubeRegistryDeps {
  recorder: OperationRecorder;
  faults: FaultHook;
  keys: KeyUsability;
  now?: () => number;
}

/** A change ARM decided that the API server has not picked up yet. */
export interface PendingKubeChange {
  cluster: string;
  applyAt: number;
  encryption?: ClusterEncryption;
  kubernetesVersion?: string;
}

export class KubeRegistry {
  private readonly clusters = new Map<string, EmulatedKubeCluster>();
  private readonly externals = new Map<string, ExternalApiServer>();
  private readonly pending = new Map<string, { change: PendingKubeChange; timer: NodeJS.Timeout }>();

  constructor(private readonly deps: KubeRegistryDeps) {}

  create(
    name: string,
    kubernetesVersion: string,
    encryption: ClusterEncryption,
    tokens: { user: string; admin: string },
  ): EmulatedKubeCluster {
    const cluster = new EmulatedKubeCluster({
      name,
      kubernetesVersion,
      encryption,
      tokens,
      ...this.clusterDeps(),
    });
    this.clusters.set(name, cluster);
    return cluster;
  }

  restore(snapshot: KubeClusterSnapshot, tokens: { user: string; admin: string }): EmulatedKubeCluster {
    const cluster = EmulatedKubeCluster.fromSnapshot(snapshot, { tokens, ...this.clusterDeps() });
    this.clusters.set(snapshot.name, cluster);
    return cluster;
  }

  private clusterDeps() {
    return {
      keys: this.deps.keys,
      recorder: this.deps.recorder,
      faults: this.deps.faults,
      ...(this.deps.now ? { now: this.deps.now } : {}),
    };
  }

  get(name: string): EmulatedKubeCluster | undefined {
    return this.clusters.get(name);
  }

  /** Whether the cluster has an API server at all (emulated or external). */
  has(name: string): boolean {
    return this.clusters.has(name) || this.externals.has(name);
  }

  external(name: string): ExternalApiServer | undefined {
    return this.externals.get(name);
  }

  /** Replaces the cluster's emulated API server by `server`; pending changes go to `server`. */
  attachExternal(name: string, server: ExternalApiServer): void {
    this.clusters.delete(name);
    this.externals.set(name, server);
  }

  names(): string[] {
    return [...this.clusters.keys()];
  }

  remove(name: string): void {
    this.cancelPending(name);
    this.clusters.delete(name);
    this.externals.delete(name);
  }

  /**
   * Applies `change` after `delayMs`. A later change for the same cluster replaces an unapplied one but keeps
   * its fields (an upgrade followed quickly by a KMS change must deliver both).
   */
  schedule(change: Omit<PendingKubeChange, 'applyAt'>, delayMs: number): void {
    const earlier = this.pending.get(change.cluster)?.change;
    this.cancelPending(change.cluster);
    const merged: PendingKubeChange = {
      ...earlier,
      ...stripUndefined(change),
      cluster: change.cluster,
      applyAt: Date.now() + delayMs,
    };
    if (delayMs <= 0) {
      this.apply(merged);
      return;
    }
    const timer = setTimeout(() => {
      this.pending.delete(change.cluster);
      this.apply(merged);
    }, delayMs);
    timer.unref();
    this.pending.set(change.cluster, { change: merged, timer });
  }

  pendingChanges(): PendingKubeChange[] {
    return [...this.pending.values()].map((p) => p.change);
  }

  /** Applies every pending change now (shutdown, snapshots that must be exact, tests). */
  flushPending(): void {
    for (const [name, p] of [...this.pending]) {
      clearTimeout(p.timer);
      this.pending.delete(name);
      this.apply(p.change);
    }
  }

  private cancelPending(name: string): void {
    const p = this.pending.get(name);
    if (p) clearTimeout(p.timer);
    this.pending.delete(name);
  }

  private apply(change: PendingKubeChange): void {
    const external = this.externals.get(change.cluster);
    if (external) {
      // Its Kubernetes version is the binary's; only encryption changes reach it.
      if (change.encryption) {
        external.setEncryption(change.encryption).catch((e: unknown) => {
          console.error(
            `sandbox: the API server of ${change.cluster} did not apply the encryption change: ${e instanceof Error ? e.message : String(e)}`,
          );
        });
      }
      return;
    }
    const cluster = this.clusters.get(change.cluster);
    if (!cluster) return;
    if (change.kubernetesVersion) cluster.setKubernetesVersion(change.kubernetesVersion);
    if (change.encryption) cluster.setEncryption(change.encryption);
  }

  snapshots(): KubeClusterSnapshot[] {
    return [...this.clusters.values()].map((c) => c.toSnapshot());
  }

  close(): void {
    for (const p of this.pending.values()) clearTimeout(p.timer);
    this.pending.clear();
  }
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
