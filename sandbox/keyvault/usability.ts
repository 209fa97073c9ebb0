/** The Key Vault answer the emulated API servers need: can this key version still encrypt/decrypt? */
import type { KeyUsability } from '../contracts';
import type { AzureStore } from '../store';
import { parseKeyId } from './key-ids';
import { findVersion, unusableReason } from './keys';

export class VaultKeyUsability implements KeyUsability {
  constructor(
    private readonly store: AzureStore,
    private readonly now: () => number = Date.now,
  ) {}

  /** Usable = the vault, key and version exist, the version is enabled, not expired and already valid. */
  isKeyVersionUsable(keyId: string): boolean {
    const parsed = parseKeyId(keyId);
    if (!parsed?.version) return false;
    const key = this.store.vaultByName(parsed.vaultName)?.keys[parsed.keyName];
    const version = key && findVersion(key, parsed.version);
    return !!version && unusableReason(version, Math.floor(this.now() / 1000)) === undefined;
  }
}
