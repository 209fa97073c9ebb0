/** Classification of etcd values written by kube-apiserver (synthetic values; the real ones are in the apiserver tests). */
import * as path from 'node:path';
import * as protobuf from 'protobufjs';
import { describe, expect, it } from 'vitest';
import { prefixRangeEnd } from '../../conformance/etcd/etcd-client';
import { storageSummary, type StoredSecret } from '../../conformance/etcd/stored-secrets';
import { describeStoredValue, parseStoredValue } from '../../conformance/etcd/stored-value';

const EncryptedObject = protobuf
  .loadSync(path.join(__dirname, '../../conformance/etcd/encrypted-object.proto'))
  .lookupType('v2.EncryptedObject');

function kmsV2Value(provider: string, keyID: string): Buffer {
  const body = EncryptedObject.encode(
    EncryptedObject.fromObject({
      encryptedData: Buffer.alloc(60, 1),
      keyID,
      encryptedDEKSource: Buffer.alloc(40, 2),
      annotations: { 'version.azure.akv.io': Buffer.from('1') },
      encryptedDEKSourceType: 1,
    }),
  ).finish();
  return Buffer.concat([Buffer.from(`k8s:enc:kms:v2:${provider}:`), body]);
}

describe('parseStoredValue', () => {
  it('reads the provider name and the EncryptedObject key id of a KMS v2 value', () => {
    const v = parseStoredValue(kmsV2Value('kmsflow', 'a'.repeat(64)));
    expect(v.kind).toBe('kms-v2');
    if (v.kind !== 'kms-v2') return;
    expect(v.provider).toBe('kmsflow');
    expect(v.keyId).toBe('a'.repeat(64));
    expect(v.envelope.encryptedDEKSourceType).toBe(1);
    expect(v.envelope.encryptedDEKSource.length).toBe(40);
    expect(v.envelope.annotations['version.azure.akv.io']?.toString()).toBe('1');
    expect(describeStoredValue(v)).toBe(`kms-v2/kmsflow/${'a'.repeat(64)}`);
  });

  it('stops the provider name at the first colon, even when the payload contains colons', () => {
    const v = parseStoredValue(kmsV2Value('p1', 'key:with:colons'));
    expect(v.kind === 'kms-v2' && [v.provider, v.keyId]).toEqual(['p1', 'key:with:colons']);
  });

  it('classifies the other providers and plaintext encodings', () => {
    expect(parseStoredValue(Buffer.from('k8s:enc:kms:v1:old:\x00\x05abcde'))).toEqual({
      kind: 'kms-v1',
      provider: 'old',
    });
    expect(parseStoredValue(Buffer.from('k8s:enc:aescbc:v1:key1:0123456789abcdef'))).toEqual({
      kind: 'aescbc',
      provider: 'key1',
    });
    expect(parseStoredValue(Buffer.from('k8s:enc:secretbox:v1:k:xx'))).toEqual({
      kind: 'secretbox',
      provider: 'k',
    });
    expect(parseStoredValue(Buffer.from('k8s\x00\n\x0c\n\x02v1\x12\x06Secret'))).toEqual({
      kind: 'identity',
      encoding: 'protobuf',
    });
    expect(parseStoredValue(Buffer.from('{"kind":"Secret"}'))).toEqual({
      kind: 'identity',
      encoding: 'json',
    });
    expect(parseStoredValue(Buffer.from([0xde, 0xad]))).toEqual({ kind: 'unknown' });
  });
});

describe('storage helpers', () => {
  it('counts Secrets per provider and key', () => {
    const s = (name: string, value: Buffer): StoredSecret => ({
      key: `/registry/secrets/ns/${name}`,
      namespace: 'ns',
      name,
      modRevision: 1,
      bytes: value.length,
      stored: parseStoredValue(value),
    });
    expect(
      storageSummary([
        s('a', kmsV2Value('p', 'k1')),
        s('b', kmsV2Value('p', 'k1')),
        s('c', kmsV2Value('p', 'k2')),
        s('d', Buffer.from('k8s\x00')),
      ]),
    ).toEqual({
      'kms-v2/p/k1': 2,
      'kms-v2/p/k2': 1,
      'identity/protobuf': 1,
    });
  });

  it('computes the etcd range end of a prefix', () => {
    expect(prefixRangeEnd('/registry/secrets/').toString()).toBe('/registry/secrets0');
    expect(prefixRangeEnd('caf\u00e9').toString()).toBe('caf\u00ea'); // bytes c3 a9 -> c3 aa
  });
});
