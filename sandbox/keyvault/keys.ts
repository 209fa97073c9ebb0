/**
 * Key Vault keys and versions: real RSA / EC key pairs per version (so wrap/unwrap really depends on the
 * version, and clients that encrypt locally with the public key interoperate), KeyBundle rendering and
 * the usability rule the emulated clusters rely on.
 */
import {
  constants,
  createPrivateKey,
  createPublicKey,
  generateKeyPair,
  privateDecrypt,
  publicEncrypt,
  type KeyObject,
} from 'node:crypto';
import { promisify } from 'node:util';
import { HttpError } from '../http';
import { newKeyVersionId, type KeyRecord, type KeyVersionRecord, type VaultRecord } from '../store';

const generateKeyPairAsync = promisify(generateKeyPair);

export type KeyType = KeyVersionRecord['kty'];

export interface NewKeyVersionSpec {
  kty: KeyType;
  keySize?: number;
  crv?: string;
  keyOps?: string[];
  enabled?: boolean;
  nbf?: number;
  exp?: number;
  tags?: Record<string, string>;
  /** Use this version id (scenarios); otherwise a random one. */
  version?: string;
  /** Creation time in unix seconds (scenarios); default now. */
  created?: number;
}

const RSA_OPS = ['encrypt', 'decrypt', 'sign', 'verify', 'wrapKey', 'unwrapKey'];
const EC_OPS = ['sign', 'verify'];

const EC_CURVES: Record<string, string> = {
  'P-256': 'prime256v1',
  'P-384': 'secp384r1',
  'P-521': 'secp521r1',
  'P-256K': 'secp256k1',
};

export function isRsa(kty: string): boolean {
  return kty === 'RSA' || kty === 'RSA-HSM';
}

export async function createKeyVersion(spec: NewKeyVersionSpec): Promise<KeyVersionRecord> {
  const now = Math.floor(Date.now() / 1000);
  let privateKeyPem: string;
  if (isRsa(spec.kty)) {
    const modulusLength = spec.keySize ?? 2048;
    if (![2048, 3072, 4096].includes(modulusLength))
      throw new HttpError(400, 'BadParameter', `Invalid key size ${modulusLength} for RSA key.`);
    const pair = await generateKeyPairAsync('rsa', { modulusLength });
    privateKeyPem = pair.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  } else {
    const crv = spec.crv ?? 'P-256';
    const namedCurve = EC_CURVES[crv];
    if (!namedCurve) throw new HttpError(400, 'BadParameter', `Invalid curve name ${crv}.`);
    const pair = await generateKeyPairAsync('ec', { namedCurve });
    privateKeyPem = pair.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  }
  return {
    version: spec.version ?? newKeyVersionId(),
    kty: spec.kty,
    ...(isRsa(spec.kty) ? { keySize: spec.keySize ?? 2048 } : { crv: spec.crv ?? 'P-256' }),
    keyOps: spec.keyOps ?? (isRsa(spec.kty) ? RSA_OPS : EC_OPS),
    enabled: spec.enabled ?? true,
    ...(spec.nbf !== undefined ? { nbf: spec.nbf } : {}),
    ...(spec.exp !== undefined ? { exp: spec.exp } : {}),
    created: spec.created ?? now,
    updated: spec.created ?? now,
    ...(spec.tags ? { tags: spec.tags } : {}),
    privateKeyPem,
  };
}

export function latestVersion(key: KeyRecord): KeyVersionRecord | undefined {
  return key.versions[key.versions.length - 1];
}

export function findVersion(key: KeyRecord, version: string | undefined): KeyVersionRecord | undefined {
  if (!version) return latestVersion(key);
  return key.versions.find((v) => v.version.toLowerCase() === version.toLowerCase());
}

/** Why a version cannot be used for cryptography now, or undefined when it can. */
export function unusableReason(
  v: KeyVersionRecord,
  nowSeconds = Math.floor(Date.now() / 1000),
): 'disabled' | 'expired' | 'notYetValid' | undefined {
  if (!v.enabled) return 'disabled';
  if (v.exp !== undefined && v.exp <= nowSeconds) return 'expired';
  if (v.nbf !== undefined && v.nbf > nowSeconds) return 'notYetValid';
  return undefined;
}

function recoveryLevel(vault: VaultRecord): { recoveryLevel: string; recoverableDays?: number } {
  const p = vault.properties;
  if (p.enableSoftDelete === false) return { recoveryLevel: 'Purgeable' };
  const days = typeof p.softDeleteRetentionInDays === 'number' ? p.softDeleteRetentionInDays : 90;
  return {
    recoveryLevel: p.enablePurgeProtection === true ? 'Recoverable' : 'Recoverable+Purgeable',
    recoverableDays: days,
  };
}

function attributes(vault: VaultRecord, v: KeyVersionRecord) {
  return {
    enabled: v.enabled,
    ...(v.nbf !== undefined ? { nbf: v.nbf } : {}),
    ...(v.exp !== undefined ? { exp: v.exp } : {}),
    created: v.created,
    updated: v.updated,
    ...recoveryLevel(vault),
    exportable: false,
  };
}

function publicJwk(v: KeyVersionRecord): Record<string, unknown> {
  const jwk = createPublicKey(createPrivateKey(v.privateKeyPem)).export({ format: 'jwk' });
  return isRsa(v.kty) ? { n: jwk.n, e: jwk.e } : { crv: v.crv, x: jwk.x, y: jwk.y };
}

export function keyId(vaultBaseUrl: string, keyName: string, version?: string): string {
  return `${vaultBaseUrl}/keys/${keyName}${version ? `/${version}` : ''}`;
}

/** The data plane's KeyBundle. */
export function keyBundle(vaultBaseUrl: string, vault: VaultRecord, key: KeyRecord, v: KeyVersionRecord) {
  return {
    key: { kid: keyId(vaultBaseUrl, key.name, v.version), kty: v.kty, key_ops: v.keyOps, ...publicJwk(v) },
    attributes: attributes(vault, v),
    ...(v.tags ? { tags: v.tags } : {}),
  };
}

/** The data plane's KeyItem (list entries). */
export function keyItem(
  vaultBaseUrl: string,
  vault: VaultRecord,
  key: KeyRecord,
  v: KeyVersionRecord,
  withVersion: boolean,
) {
  return {
    kid: keyId(vaultBaseUrl, key.name, withVersion ? v.version : undefined),
    attributes: attributes(vault, v),
    ...(v.tags ? { tags: v.tags } : {}),
  };
}

const OAEP_HASH: Record<string, string> = { 'RSA-OAEP': 'sha1', 'RSA-OAEP-256': 'sha256' };

function rsaKey(v: KeyVersionRecord, algorithm: string): { key: KeyObject; oaepHash: string } {
  if (!isRsa(v.kty))
    throw new HttpError(
      400,
      'BadParameter',
      `Algorithm ${algorithm} is not supported for key type ${v.kty}.`,
    );
  const oaepHash = OAEP_HASH[algorithm];
  if (!oaepHash)
    throw new HttpError(
      400,
      'BadParameter',
      `Algorithm ${algorithm} is not supported by this sandbox (use RSA-OAEP or RSA-OAEP-256).`,
    );
  return { key: createPrivateKey(v.privateKeyPem), oaepHash };
}

/** wrapKey / encrypt with the version's public key. */
export function rsaEncrypt(v: KeyVersionRecord, algorithm: string, plaintext: Buffer): Buffer {
  const { key, oaepHash } = rsaKey(v, algorithm);
  return publicEncrypt(
    { key: createPublicKey(key), padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash },
    plaintext,
  );
}

/** unwrapKey / decrypt with the version's private key; a ciphertext of another version fails. */
export function rsaDecrypt(v: KeyVersionRecord, algorithm: string, ciphertext: Buffer): Buffer {
  const { key, oaepHash } = rsaKey(v, algorithm);
  try {
    return privateDecrypt({ key, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash }, ciphertext);
  } catch {
    throw new HttpError(
      400,
      'BadParameter',
      'Unable to decrypt the specified ciphertext with this key version.',
    );
  }
}
