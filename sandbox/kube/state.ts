/**
 * The mutable state of one emulated cluster: the etcd-like revision counter, Secrets, namespaces,
 * encryption configuration and Kubernetes faults. Request handlers work against this.
 */
import type { ClusterEncryption, KeyUsability } from '../contracts';
import { ReadabilityCheck } from './encryption';
import { type StoredNamespace } from './namespaces';
import { SeededRandom } from './prng';
import { SecretStore } from './secret-store';
import type { KubeFaults } from './types';

export class KubeState {
  /** Last issued cluster-wide revision (etcd's header revision); every write takes the next one. */
  revision = 1000;
  readonly secrets = new SecretStore();
  readonly namespaces = new Map<string, StoredNamespace>();
  readonly faults: KubeFaults = { terminatingNamespaces: new Set() };
  private dice?: { seed: number; rng: SeededRandom };
  private readonly uidSource = new SeededRandom(0x6b756265);

  constructor(
    public encryption: ClusterEncryption,
    public readonly keys: KeyUsability,
    public readonly now: () => number,
    public readonly continueTokenTtlMs: number,
  ) {}

  nextRevision(): number {
    return ++this.revision;
  }

  newUid(): string {
    return this.uidSource.uuid();
  }

  readability(): ReadabilityCheck {
    return new ReadabilityCheck(this.encryption, this.keys);
  }

  isTerminating(namespace: string): boolean {
    return this.faults.terminatingNamespaces.has(namespace) || this.namespaces.get(namespace)?.deletionTimestamp !== undefined;
  }

  /** True when the seeded conflict fault picks this write. */
  rollConflict(): boolean {
    const share = this.faults.conflictShare ?? 0;
    if (share <= 0) return false;
    const seed = this.faults.seed ?? 1;
    if (!this.dice || this.dice.seed !== seed) this.dice = { seed, rng: new SeededRandom(seed) };
    return this.dice.rng.next() < share;
  }
}
