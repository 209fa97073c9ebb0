/**
 * The kube-apiserver's view of encryption at rest: which provider a write uses, when a stored value
 * is stale (so a no-op update rewrites it), and when it can no longer be decrypted.
 */
import type { ClusterEncryption, KeyUsability, StorageProvider } from '../contracts';
import type { StoredSecret } from './secret-record';

export function sameProvider(a: StorageProvider, b: StorageProvider): boolean {
  if (a.type !== b.type) return false;
  return a.type === 'identity' || a.keyId === (b as { keyId: string }).keyId;
}

/** A value is stale when it was not written by the current write provider and key. */
export const isStale = (stored: StorageProvider, encryption: ClusterEncryption): boolean =>
  !sameProvider(stored, encryption.write);

export function describeProvider(p: StorageProvider): string {
  return p.type === 'identity' ? 'identity' : `${p.type} ${p.keyId}`;
}

/** How long kube-apiserver keeps a decrypted seed (`cacheTTL` of its KMS v2 envelope transformer). */
export const SEED_CACHE_TTL_MS = 24 * 60 * 60_000;
/** After the plugin's last good answer, writes "coast" on the cached write seed this long, then fail. */
export const WRITE_COAST_MS = 3 * 60_000;
/** kube-apiserver reuses a good health check of the plugin this long, a failed one for 10 s. */
export const HEALTHY_CHECK_REUSE_MS = 60_000;
export const FAILED_CHECK_REUSE_MS = 10_000;
/** KMS v1 wraps one data key per Secret with Key Vault; beyond this many, Key Vault throttles the plugin. */
export const KMS_V1_SECRET_LIMIT = 2_000;

/**
 * Why the KMS plugin's health check fails now, if it does. AKS's plugin round-trips each slot's key
 * with Key Vault on every check, and keeps doing so after KMS is disabled (it still reads what is
 * encrypted): disabling or destroying either slot's key fails it.
 */
export function pluginHealthProblem(
  encryption: ClusterEncryption,
  keys: KeyUsability,
  secrets: Iterable<StoredSecret>,
): string | undefined {
  for (const keyId of [encryption.slots.current, encryption.slots.previous]) {
    const problem = keyId === undefined ? undefined : keys.keyProblem(keyId);
    if (problem) return problem;
  }
  let v1Secrets = 0;
  for (const s of secrets) if (s.provider.type === 'kms-v1') v1Secrets++;
  if (v1Secrets > KMS_V1_SECRET_LIMIT) {
    return `Key Vault throttles the KMS v1 plugin: ${v1Secrets} Secrets are stored under KMS v1, more than the ${KMS_V1_SECRET_LIMIT} it supports`;
  }
  return undefined;
}

/**
 * What one kube-apiserver process holds in memory for KMS, and loses when it restarts: the decrypted
 * seeds (reads under a key keep working while its seed is cached, even after Key Vault stops unwrapping
 * with it) and the write state (writes keep the current seed until the plugin has failed for a while).
 */
export class KmsProcessMemory {
  private readonly seeds = new Map<string, number>();
  private writeWorkedAt: number | undefined;
  private lastCheck: { at: number; problem: string | undefined } | undefined;

  constructor(
    private readonly now: () => number,
    private readonly seedTtlMs: number = SEED_CACHE_TTL_MS,
  ) {}

  /**
   * A fresh process: it encrypts a write seed with the current key and its Secret informer decrypts
   * every stored value, so the seeds of the keys the plugin can use now are cached, and only those.
   */
  start(encryption: ClusterEncryption, keys: KeyUsability): void {
    this.seeds.clear();
    this.writeWorkedAt = undefined;
    this.lastCheck = undefined;
    for (const keyId of [encryption.slots.current, encryption.slots.previous]) {
      if (keyId !== undefined && keys.keyProblem(keyId) === undefined)
        this.seeds.set(keyId, this.now() + this.seedTtlMs);
    }
    if (encryption.write.type !== 'identity' && keys.keyProblem(encryption.write.keyId) === undefined)
      this.writeWorkedAt = this.now();
  }

  holdsSeed(keyId: string): boolean {
    const expiry = this.seeds.get(keyId);
    return expiry !== undefined && expiry > this.now();
  }

  rememberSeed(keyId: string): void {
    if (!this.holdsSeed(keyId)) this.seeds.set(keyId, this.now() + this.seedTtlMs);
  }

  /** The plugin's health check: the last one while it may be reused, else `check` run now. */
  pluginCheck(check: () => string | undefined): string | undefined {
    const last = this.lastCheck;
    const reuseMs = last?.problem === undefined ? HEALTHY_CHECK_REUSE_MS : FAILED_CHECK_REUSE_MS;
    if (last && this.now() - last.at < reuseMs) return last.problem;
    const problem = check();
    this.lastCheck = { at: this.now(), problem };
    if (problem === undefined) this.writeWorked();
    return problem;
  }

  /** The plugin encrypted with the current key (its periodic check or a write). */
  writeWorked(): void {
    this.writeWorkedAt = this.now();
  }

  /** May a write use the cached seed although the plugin fails now? */
  canCoast(): boolean {
    return this.writeWorkedAt !== undefined && this.now() - this.writeWorkedAt <= WRITE_COAST_MS;
  }
}

/**
 * Decides readability for one request, asking Key Vault at most once per key id: AKS holds two key
 * slots, and a slot's plugin can only unwrap with a key version Key Vault still lets it use, unless the
 * process still holds the seed it decrypted earlier.
 */
export class ReadabilityCheck {
  private readonly verdicts = new Map<string, string | undefined>();

  constructor(
    private readonly encryption: ClusterEncryption,
    private readonly keys: KeyUsability,
    private readonly memory: KmsProcessMemory,
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
    if (this.memory.holdsSeed(keyId)) return undefined;
    const problem = this.keys.keyProblem(keyId);
    if (problem) return `failed to decrypt DEK, error: rpc error: code = Unknown desc = ${problem}`;
    this.memory.rememberSeed(keyId);
    return undefined;
  }
}
