/**
 * What kube-apiserver wrote into etcd for one object: the encryption-at-rest envelope (provider type,
 * provider name, KMS v2 key id) and, given the plugin's seed, the decrypted Kubernetes encoding.
 */
import { createDecipheriv, createHmac } from 'node:crypto';
import * as path from 'node:path';
import * as protobuf from 'protobufjs';

export interface KmsV2Envelope {
  encryptedData: Buffer;
  keyID: string;
  encryptedDEKSource: Buffer;
  annotations: Record<string, Buffer>;
  /** 0 = AES_GCM_KEY (1.27/1.28 writes), 1 = HKDF_SHA256_XNONCE_AES_GCM_SEED. */
  encryptedDEKSourceType: number;
}

export type StoredValue =
  | { kind: 'kms-v2'; provider: string; keyId: string; envelope: KmsV2Envelope }
  | { kind: 'kms-v1' | 'aescbc' | 'aesgcm' | 'secretbox'; provider: string }
  /** Not encrypted: the apiserver's own encoding (protobuf `k8s\0…` or JSON). */
  | { kind: 'identity'; encoding: 'protobuf' | 'json' }
  | { kind: 'unknown' };

/** The provider name cannot contain ':', so the first ':' after the type and version ends it. */
const ENCRYPTED_PREFIX = /^k8s:enc:([a-z0-9]+):v([0-9]+):([^:]+):/;
const K8S_PROTOBUF_MAGIC = Buffer.from('k8s\0', 'latin1');

let encryptedObjectType: protobuf.Type | undefined;
function encryptedObject(): protobuf.Type {
  encryptedObjectType ??= protobuf
    .loadSync(path.join(__dirname, 'encrypted-object.proto'))
    .lookupType('v2.EncryptedObject');
  return encryptedObjectType;
}

export function parseStoredValue(value: Buffer): StoredValue {
  const head = value.subarray(0, 300).toString('latin1');
  const m = ENCRYPTED_PREFIX.exec(head);
  if (m) {
    const [prefix, type, version, provider] = m as unknown as [string, string, string, string];
    if (type === 'kms' && version === '2') {
      const decoded = encryptedObject().toObject(encryptedObject().decode(value.subarray(prefix.length)), {
        defaults: true,
        enums: Number,
      });
      const envelope: KmsV2Envelope = {
        encryptedData: Buffer.from(decoded.encryptedData as Uint8Array),
        keyID: decoded.keyID as string,
        encryptedDEKSource: Buffer.from(decoded.encryptedDEKSource as Uint8Array),
        annotations: Object.fromEntries(
          Object.entries((decoded.annotations ?? {}) as Record<string, Uint8Array>).map(([k, v]) => [
            k,
            Buffer.from(v),
          ]),
        ),
        encryptedDEKSourceType: decoded.encryptedDEKSourceType as number,
      };
      return { kind: 'kms-v2', provider, keyId: envelope.keyID, envelope };
    }
    if (type === 'kms' && version === '1') return { kind: 'kms-v1', provider };
    if (type === 'aescbc' || type === 'aesgcm' || type === 'secretbox') return { kind: type, provider };
    return { kind: 'unknown' };
  }
  if (value.subarray(0, 4).equals(K8S_PROTOBUF_MAGIC)) return { kind: 'identity', encoding: 'protobuf' };
  if (value[0] === 0x7b /* { */) return { kind: 'identity', encoding: 'json' };
  return { kind: 'unknown' };
}

/** A one-line, secret-free description for assertion messages: `kms-v2/<provider>/<keyId>` etc. */
export function describeStoredValue(v: StoredValue): string {
  switch (v.kind) {
    case 'kms-v2':
      return `kms-v2/${v.provider}/${v.keyId}`;
    case 'identity':
      return `identity/${v.encoding}`;
    case 'unknown':
      return 'unknown';
    default:
      return `${v.kind}/${v.provider}`;
  }
}

/**
 * Decrypts a KMS v2 seed-type value without Go: DEK = HKDF-Expand(SHA-256, seed, info) (one HMAC block),
 * then AES-256-GCM with the etcd key as additional data. `seed` is the plugin's unwrap of
 * encryptedDEKSource. Returns the apiserver's storage encoding (protobuf `k8s\0…`).
 */
export function decryptKmsV2Value(envelope: KmsV2Envelope, etcdKey: string, seed: Buffer): Buffer {
  if (envelope.encryptedDEKSourceType !== 1)
    throw new Error('only HKDF_SHA256_XNONCE_AES_GCM_SEED values can be decrypted here');
  const data = envelope.encryptedData;
  const info = data.subarray(0, 32);
  const nonce = data.subarray(32, 44);
  const sealed = data.subarray(44);
  const dek = createHmac('sha256', seed)
    .update(Buffer.concat([info, Buffer.from([1])]))
    .digest();
  const decipher = createDecipheriv('aes-256-gcm', dek, nonce);
  decipher.setAAD(Buffer.from(etcdKey));
  decipher.setAuthTag(sealed.subarray(sealed.length - 16));
  return Buffer.concat([decipher.update(sealed.subarray(0, sealed.length - 16)), decipher.final()]);
}
