/**
 * The mutable state of one emulated cluster: the etcd-like revision counter, Secrets, namespaces,
 * encryption configuration and Kubernetes faults. Request handlers work against this.
 */
import type { ClusterEncryption, KeyUsability } from '../contracts';
import { KmsProcessMemory, pluginHealthProblem, ReadabilityCheck } from './encryption';
import { type StoredNamespace } from './namespaces';
import { hashUnit, SeededRandom } from './prng';
import type { StoredSecret } from './secret-record';
import { SecretStore } from './secret-store';
import type { KubeFaults } from './types';

export class KubeState {
  /** Last issued cluster-wide revision (etcd's header revision); every write takes the next one. */
  revision = 1000;
  readonly secrets = new SecretStore();
  readonly namespaces = new Map<string, StoredNamespace>();
  readonly faults: KubeFaults = { terminatingNamespaces: new Set() };
  /** How often each Kubernetes fault fired since the cluster was loaded (tests assert their faults fired). */
  readonly faultHits = { expiredContinue: 0, conflict: 0 };
  /** Update attempts per Secret under the current conflict seed. */
  private attempts = { seed: NaN, byKey: new Map<string, number>() };
  private readonly uidSource = new SeededRandom(0x6b756265);
  readonly kmsMemory: KmsProcessMemory;

  constructor(
    public encryption: ClusterEncryption,
    public readonly keys: KeyUsability,
    public readonly now: () => number,
    public readonly continueTokenTtlMs: number,
    seedCacheTtlMs?: number,
  ) {
    this.kmsMemory = new KmsProcessMemory(now, seedCacheTtlMs);
  }

  /** The API server process restarts (AKS rolls it to apply a change): its KMS caches start over. */
  restartApiServer(): void {
    this.kmsMemory.start(this.encryption, this.keys);
    this.kmsPluginCheck();
  }

  /** The KMS plugin's health check as the API server last saw it (see `KmsProcessMemory.pluginCheck`). */
  kmsPluginCheck(): string | undefined {
    return this.kmsMemory.pluginCheck(() =>
      pluginHealthProblem(this.encryption, this.keys, this.secrets.values()),
    );
  }

  nextRevision(): number {
    return ++this.revision;
  }

  newUid(): string {
    return this.uidSource.uuid();
  }

  readability(): ReadabilityCheck {
    return new ReadabilityCheck(this.encryption, this.keys, this.kmsMemory);
  }

  isTerminating(namespace: string): boolean {
    return (
      this.faults.terminatingNamespaces.has(namespace) ||
      this.namespaces.get(namespace)?.deletionTimestamp !== undefined
    );
  }

  /**
   * True when the seeded conflict fault picks this update. The choice depends on the seed, the
   * object and its attempt number only, so a retry of a conflicting write is judged afresh.
   */
  rollConflict(namespace: string, name: string): boolean {
    const share = this.faults.conflictShare ?? 0;
    if (share <= 0) return false;
    const seed = this.faults.seed ?? 1;
    if (this.attempts.seed !== seed) this.attempts = { seed, byKey: new Map() };
    const key = `${namespace}/${name}`;
    const n = (this.attempts.byKey.get(key) ?? 0) + 1;
    this.attempts.byKey.set(key, n);
    const fires = hashUnit(seed, key, n) < share;
    if (fires) this.faultHits.conflict++;
    return fires;
  }
}

/**
 * The first Secret, in etcd key order, whose stored value cannot be decrypted now. While there is
 * one, kube-apiserver's own Secret informer and watch cache cannot list, so it is not ready.
 */
export function firstUnreadableSecret(
  state: KubeState,
): { secret: StoredSecret; failure: string } | undefined {
  const check = state.readability();
  for (const secret of state.secrets.values()) {
    const failure = check.failure(secret.provider);
    if (failure) return { secret, failure };
  }
  return undefined;
}
