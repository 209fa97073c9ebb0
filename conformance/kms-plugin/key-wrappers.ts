/**
 * Where the KMS plugin's key-encryption keys live. The plugin wraps the apiserver's 32-byte DEK seed
 * with a Key Vault key version (RSA-OAEP-256, like the Azure KMS plugin) or, in unit tests, with a
 * local AES key (RFC 3394 key wrap).
 */
import { createCipheriv, createDecipheriv, createHash } from 'node:crypto';
import type { CryptographyClient } from '@azure/keyvault-keys';

export interface KeyWrapper {
  /** The versioned key identifier, e.g. `https://<vault>.vault.azure.net/keys/<name>/<version>`. */
  readonly versionedKeyId: string;
  /** Recorded in the EncryptResponse annotations and checked again on Decrypt. */
  readonly algorithm: string;
  wrap(plaintext: Buffer): Promise<Buffer>;
  unwrap(ciphertext: Buffer): Promise<Buffer>;
}

/**
 * The KMS `key_id` reported for a versioned key id: hex(sha256(url)), as the Azure plugin does, so it is
 * stable for a key version, never reused by another one, and reveals nothing but the URL's hash.
 */
export function kmsKeyIdFor(versionedKeyId: string): string {
  return createHash('sha256').update(versionedKeyId).digest('hex');
}

export class KeyVaultKeyWrapper implements KeyWrapper {
  readonly algorithm = 'RSA-OAEP-256';

  constructor(
    readonly versionedKeyId: string,
    private readonly client: CryptographyClient,
  ) {}

  async wrap(plaintext: Buffer): Promise<Buffer> {
    const res = await this.client.wrapKey('RSA-OAEP-256', plaintext);
    // A client pointed at an unversioned id would silently follow the latest version; refuse that.
    if (res.keyID && res.keyID !== this.versionedKeyId) {
      throw new Error(`Key Vault wrapped with ${res.keyID}, expected ${this.versionedKeyId}`);
    }
    return Buffer.from(res.result);
  }

  async unwrap(ciphertext: Buffer): Promise<Buffer> {
    const res = await this.client.unwrapKey('RSA-OAEP-256', ciphertext);
    return Buffer.from(res.result);
  }
}

const AES_KW_IV = Buffer.from('a6a6a6a6a6a6a6a6', 'hex');

export class LocalAesKeyWrapper implements KeyWrapper {
  readonly algorithm = 'A256KW';

  constructor(
    readonly versionedKeyId: string,
    private readonly key: Buffer,
    /** Lets tests simulate a disabled or deleted key version. */
    public usable = true,
  ) {
    if (key.length !== 32) throw new Error('LocalAesKeyWrapper needs a 32-byte key');
  }

  private check(op: string): void {
    if (!this.usable) throw new Error(`Operation ${op} is not allowed on a disabled key.`);
  }

  async wrap(plaintext: Buffer): Promise<Buffer> {
    this.check('wrapKey');
    const cipher = createCipheriv('id-aes256-wrap', this.key, AES_KW_IV);
    return Buffer.concat([cipher.update(plaintext), cipher.final()]);
  }

  async unwrap(ciphertext: Buffer): Promise<Buffer> {
    this.check('unwrapKey');
    const decipher = createDecipheriv('id-aes256-wrap', this.key, AES_KW_IV);
    return Buffer.concat([decipher.update(ciphertext), decipher.final()]);
  }
}
