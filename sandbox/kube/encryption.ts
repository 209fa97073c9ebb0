/**
 * The kube-apiserver's view of encryption at rest: which provider a write uses, when a stored value
 * is stale (so a no-op update rewrites it), and when it can no longer be decrypted.
 */
import type { ClusterEncryption, KeyUsability, StorageProvider } from '../contracts';

export function sameProvider(a: StorageProvider, b: StorageProvider): boolean {
  if (a.type !== b.type) return false;
  return a.type === 'identity' || a.keyId === (b as { keyId: string }).keyId;
}

/** A value is stale when it was not written by the current write provider and key. */
export const isStale = (stored: StorageProvider, encryption: ClusterEncryption): boolean => !sameProvider(stored, encryption.write);

export function describeProvider(p: StorageProvider): string {
  return p.type === 'identity' ? 'identity' : `${p.type} ${p.keyId}`;
}

/**
 * Decides readability for one request, asking Key Vault at most once per key id: AKS holds two key
 * slots, and a slot's plugin can only unwrap with a key version Key Vault still lets it use.
 */
export class ReadabilityCheck {
  private readonly verdicts = new Map<string, string | undefined>();

  constructor(
    private readonly encryption: ClusterEncryption,
    private readonly keys: KeyUsability,
  ) {}

  /** Undefined when readable, otherwise the decrypt error the apiserver would report. */
  failure(p: StorageProvider): string | undefined {
    if (p.type === 'identity') return undefined;
    if (this.verdicts.has(p.keyId)) return this.verdicts.get(p.keyId);
    const verdict = this.judge(p.keyId);
    this.verdicts.set(p.keyId, verdict);
    return verdict;
  }

  private judge(keyId: string): string | undefined {
    const { current, previous } = this.encryption.slots;
    if (keyId !== current && keyId !== previous) {
      return `failed to decrypt DEK, error: rpc error: code = Unknown desc = no KMS plugin holds key ${keyId}: it is in neither the current nor the previous key slot`;
    }
    const problem = this.keys.keyProblem(keyId);
    return problem ? `failed to decrypt DEK, error: rpc error: code = Unknown desc = ${problem}` : undefined;
  }
}
