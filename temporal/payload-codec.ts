/**
 * The optional payload codec: every workflow payload (inputs, results, heartbeats, queries, failures'
 * details, memo) is encrypted with AES-256-GCM before it reaches Temporal, so the service and whoever reads
 * its database see ciphertext only. The key comes from KMSFLOW_CODEC_KEY_FILE (a file holding the base64
 * key) or KMSFLOW_CODEC_KEY (base64); each payload names its key in metadata `encryption-key-id`
 * (KMSFLOW_CODEC_KEY_ID, default derived from the key) so a rotated key can still decode old histories.
 * Workers, the CLI and the codec server (`kmsflow codec-server`, for the Web UI) must share the key.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import type { DataConverter, Payload, PayloadCodec } from '@temporalio/common';
import { temporal } from '@temporalio/proto';

export const ENCRYPTED_ENCODING = 'binary/encrypted';
export const KEY_ID_METADATA = 'encryption-key-id';
const IV_BYTES = 12;
const TAG_BYTES = 16;

const utf8 = (text: string) => new TextEncoder().encode(text);
const text = (bytes: Uint8Array | null | undefined) =>
  bytes ? Buffer.from(bytes).toString('utf8') : undefined;

export interface CodecKey {
  keyId: string;
  key: Buffer;
}

export class AesGcmPayloadCodec implements PayloadCodec {
  /** `keys` decode; the first one also encodes. */
  constructor(private readonly keys: readonly CodecKey[]) {
    if (keys.length === 0) throw new Error('the payload codec needs a key');
    for (const k of keys)
      if (k.key.length !== 32)
        throw new Error(`payload codec key ${k.keyId} is ${k.key.length} bytes; AES-256-GCM needs 32`);
  }

  async encode(payloads: Payload[]): Promise<Payload[]> {
    const { keyId, key } = this.keys[0]!;
    return payloads.map((payload) => {
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      cipher.setAAD(utf8(keyId));
      const plain = temporal.api.common.v1.Payload.encode(payload).finish();
      const sealed = Buffer.concat([iv, cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
      return {
        metadata: { encoding: utf8(ENCRYPTED_ENCODING), [KEY_ID_METADATA]: utf8(keyId) },
        data: sealed,
      };
    });
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => {
      if (text(payload.metadata?.encoding) !== ENCRYPTED_ENCODING) return payload;
      const keyId = text(payload.metadata?.[KEY_ID_METADATA]) ?? '';
      const entry = this.keys.find((k) => k.keyId === keyId);
      if (!entry)
        throw new Error(
          `payload encrypted with key "${keyId}", which this process does not have (KMSFLOW_CODEC_KEY / KMSFLOW_CODEC_KEY_FILE)`,
        );
      const sealed = Buffer.from(payload.data ?? new Uint8Array());
      const decipher = createDecipheriv('aes-256-gcm', entry.key, sealed.subarray(0, IV_BYTES));
      decipher.setAAD(utf8(keyId));
      decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
      const plain = Buffer.concat([
        decipher.update(sealed.subarray(IV_BYTES, sealed.length - TAG_BYTES)),
        decipher.final(),
      ]);
      return temporal.api.common.v1.Payload.decode(plain) as Payload;
    });
  }
}

/** A key id that names a key without revealing it: the first 16 hex digits of its SHA-256. */
export function defaultKeyId(key: Buffer): string {
  return `sha256-${createHash('sha256').update(key).digest('hex').slice(0, 16)}`;
}

/** The codec key the environment configures, or undefined when payloads stay unencrypted. */
export function codecKeyFromEnvironment(env: NodeJS.ProcessEnv = process.env): CodecKey | undefined {
  const file = env.KMSFLOW_CODEC_KEY_FILE;
  const encoded = file ? fs.readFileSync(file, 'utf8').trim() : env.KMSFLOW_CODEC_KEY?.trim();
  if (!encoded) return undefined;
  const key = Buffer.from(encoded, 'base64');
  if (key.length !== 32) {
    throw new Error(
      `${file ? `KMSFLOW_CODEC_KEY_FILE ${file}` : 'KMSFLOW_CODEC_KEY'} must hold 32 bytes in base64 (e.g. openssl rand -base64 32); it holds ${key.length}`,
    );
  }
  return { key, keyId: env.KMSFLOW_CODEC_KEY_ID?.trim() || defaultKeyId(key) };
}

export function payloadCodecFromEnvironment(
  env: NodeJS.ProcessEnv = process.env,
): AesGcmPayloadCodec | undefined {
  const key = codecKeyFromEnvironment(env);
  return key ? new AesGcmPayloadCodec([key]) : undefined;
}

/** The data converter every Temporal client and worker of kmsflow uses: default, plus the codec when configured. */
export function dataConverterFromEnvironment(
  env: NodeJS.ProcessEnv = process.env,
): DataConverter | undefined {
  const codec = payloadCodecFromEnvironment(env);
  return codec ? { payloadCodecs: [codec] } : undefined;
}
