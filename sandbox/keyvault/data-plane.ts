/**
 * The Key Vault data plane for keys, one virtual host per vault (`<vault>.vault.azure.net`): challenge
 * authentication, firewall, RBAC / access policies, keys and versions, rotation and rotation policies, attribute
 * updates and the crypto operations the KMS plugin uses.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { readBearerToken, type VerifiedCaller } from '../auth';
import type { SandboxContext } from '../context';
import { HttpError, isObject, readJsonObject, sendJson, setLogDetail } from '../http';
import type { KeyOperationName } from '../rbac';
import type { KeyRecord, KeyVersionRecord, VaultRecord } from '../store';
import { assertNetworkAccess, assertPermission } from './access';
import {
  createKeyVersion,
  findVersion,
  isRsa,
  keyBundle,
  keyId,
  keyItem,
  latestVersion,
  rsaDecrypt,
  rsaEncrypt,
  unusableReason,
  type KeyType,
} from './keys';
import {
  assertKeyExpiryPolicy,
  rotationExpiry,
  rotationPolicyBundle,
  rotationPolicyFromBody,
} from './rotation-policy';

const KEY_TYPES: readonly KeyType[] = ['RSA', 'RSA-HSM', 'EC', 'EC-HSM'];
const CRYPTO_OPERATIONS = {
  wrapkey: 'wrapKey',
  unwrapkey: 'unwrapKey',
  encrypt: 'encrypt',
  decrypt: 'decrypt',
} as const;

/** Crypto calls are reads in effect; the operation log keeps only state changes. */
export function isKeyVaultCryptoPath(path: string): boolean {
  return /\/(wrapkey|unwrapkey|encrypt|decrypt|sign|verify)$/i.test(path);
}

function unauthorized(vault: VaultRecord, message: string): HttpError {
  const tenantId = typeof vault.properties.tenantId === 'string' ? vault.properties.tenantId : 'common';
  return new HttpError(
    401,
    'Unauthorized',
    message,
    {},
    {
      'WWW-Authenticate': `Bearer authorization="https://login.microsoftonline.com/${tenantId}", resource="https://vault.azure.net"`,
    },
  );
}

function authenticate(ctx: SandboxContext, vault: VaultRecord, req: IncomingMessage): VerifiedCaller {
  if (!req.headers.authorization)
    throw unauthorized(vault, 'AKV10000: Request is missing a Bearer or PoP token.');
  const caller = readBearerToken(req.headers.authorization, ctx.now());
  if (!caller) throw unauthorized(vault, 'AKV10022: Invalid token: the token is malformed or expired.');
  if (caller.audience !== 'vault') throw unauthorized(vault, 'AKV10022: Invalid audience.');
  const tenantId = String(vault.properties.tenantId ?? '');
  if (caller.principal.tenantId.toLowerCase() !== tenantId.toLowerCase()) {
    throw unauthorized(
      vault,
      `AKV10032: Invalid issuer. Expected one of https://sts.windows.net/${tenantId}/, found https://sts.windows.net/${caller.principal.tenantId}/.`,
    );
  }
  return caller;
}

function keyNotFound(nameOrId: string): HttpError {
  return new HttpError(
    404,
    'KeyNotFound',
    `A key with (name/id) ${nameOrId} was not found in this key vault.`,
  );
}

function validKeyName(name: string): void {
  if (!/^[0-9a-zA-Z-]{1,127}$/.test(name)) {
    throw new HttpError(400, 'BadParameter', `The request URI contains an invalid name: ${name}`);
  }
}

function unixSeconds(value: unknown, field: string): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value))
    throw new HttpError(400, 'BadParameter', `Property ${field} has invalid value.`);
  return Math.floor(value);
}

function stringRecord(value: unknown): Record<string, string> | undefined {
  if (!isObject(value)) return undefined;
  return Object.fromEntries(Object.entries(value).filter(([, v]) => typeof v === 'string')) as Record<
    string,
    string
  >;
}

function b64urlDecode(value: unknown): Buffer {
  if (typeof value !== 'string') throw new HttpError(400, 'BadParameter', 'Property value is required.');
  return Buffer.from(value, 'base64url');
}

export async function handleKeyVaultRequest(
  ctx: SandboxContext,
  vaultName: string,
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
): Promise<void> {
  const vault = ctx.store.vaultByName(vaultName);
  if (!vault)
    throw new HttpError(
      404,
      'VaultNotFound',
      `The vault '${vaultName}' does not exist in the sandbox (in Azure its host name would not resolve).`,
    );
  const caller = authenticate(ctx, vault, req).principal;
  assertNetworkAccess(vault, caller);

  const base = ctx.vaultBaseUrl(vault.name);
  const segments = url.pathname.split('/').slice(1);
  const method = (req.method ?? 'GET').toUpperCase();
  if (segments[0] === 'deletedkeys') return deletedKeyRequest(ctx, vault, caller, method, segments, res);
  if (segments[0] !== 'keys')
    throw new HttpError(400, 'BadParameter', `The sandbox Key Vault serves keys only; got ${url.pathname}.`);
  const keyName = segments[1] ?? '';
  const third = segments[2] ?? '';
  const fourth = segments[3] ?? '';
  const may = (op: KeyOperationName) => assertPermission(ctx.store, vault, caller, keyName, op);

  if (!keyName) {
    if (method !== 'GET')
      throw new HttpError(405, 'BadParameter', `Method ${method} is not allowed on /keys.`);
    may('list');
    const value = Object.values(vault.keys).flatMap((k) => {
      const v = latestVersion(k);
      return v ? [keyItem(base, vault, k, v, false)] : [];
    });
    sendJson(res, 200, { value, nextLink: null });
    return;
  }
  validKeyName(keyName);

  if (method === 'POST' && (third === 'create' || third === 'rotate') && !fourth) {
    const body = await readJsonObject(req);
    if (third === 'create') {
      may('create');
      await createKey(ctx, vault, keyName, body, res);
    } else {
      may('rotate');
      const key = vault.keys[keyName];
      const current = key && latestVersion(key);
      if (!key || !current) throw keyNotFound(keyName);
      // The new version keeps the key's type, size (or curve) and operations; its expiry comes from the policy.
      const created = Math.floor(ctx.now() / 1000);
      const exp = rotationExpiry(key, created);
      assertKeyExpiryPolicy(ctx.store, vault, keyName, 'rotate', exp);
      const v = await createKeyVersion({
        kty: current.kty,
        keySize: current.keySize,
        crv: current.crv,
        keyOps: current.keyOps,
        created,
        ...(exp !== undefined ? { exp } : {}),
      });
      key.versions.push(v);
      ctx.changed();
      setLogDetail(
        res,
        `key rotated ${keyName} kty=${v.kty} version=${v.version}${exp !== undefined ? ` exp=${new Date(exp * 1000).toISOString()}` : ''}`,
      );
      sendJson(res, 200, keyBundle(base, vault, key, v));
    }
    return;
  }

  if (third === 'rotationpolicy' && !fourth && (method === 'GET' || method === 'PUT')) {
    const key = vault.keys[keyName];
    if (method === 'GET') {
      may('getRotationPolicy');
      if (!key) throw keyNotFound(keyName);
    } else {
      may('setRotationPolicy');
      if (!key) throw keyNotFound(keyName);
      const body = await readJsonObject(req);
      key.rotationPolicy = rotationPolicyFromBody(body, key.rotationPolicy, Math.floor(ctx.now() / 1000));
      ctx.changed();
      setLogDetail(
        res,
        `key rotation policy set ${keyName}${key.rotationPolicy.expiryTime ? ` expiryTime=${key.rotationPolicy.expiryTime}` : ''}`,
      );
    }
    sendJson(res, 200, rotationPolicyBundle(base, key));
    return;
  }

  const key = vault.keys[keyName];
  if (method === 'GET' && third === 'versions' && !fourth) {
    may('list');
    if (!key) throw keyNotFound(keyName);
    sendJson(res, 200, {
      value: key.versions.map((v) => keyItem(base, vault, key, v, true)),
      nextLink: null,
    });
    return;
  }

  if (fourth) {
    const op = CRYPTO_OPERATIONS[fourth.toLowerCase() as keyof typeof CRYPTO_OPERATIONS];
    if (method !== 'POST' || !op)
      throw new HttpError(400, 'BadParameter', `Unsupported key operation ${method} ${url.pathname}.`);
    may(op);
    const version = key && findVersion(key, third);
    if (!key || !version) throw keyNotFound(third ? `${keyName}/${third}` : keyName);
    const body = await readJsonObject(req);
    sendJson(res, 200, {
      kid: keyId(base, keyName, version.version),
      value: crypto(op, version, body).toString('base64url'),
    });
    return;
  }

  if (method === 'GET') {
    may('get');
    const version = key && findVersion(key, third || undefined);
    if (!key || !version) throw keyNotFound(third ? `${keyName}/${third}` : keyName);
    sendJson(res, 200, keyBundle(base, vault, key, version));
    return;
  }

  if (method === 'PATCH') {
    may('update');
    const version = key && findVersion(key, third || undefined);
    if (!key || !version) throw keyNotFound(third ? `${keyName}/${third}` : keyName);
    updateVersion(version, await readJsonObject(req), ctx.now());
    ctx.changed();
    setLogDetail(
      res,
      `key updated ${keyName}/${version.version} enabled=${version.enabled}${version.exp !== undefined ? ` exp=${new Date(version.exp * 1000).toISOString()}` : ''}`,
    );
    sendJson(res, 200, keyBundle(base, vault, key, version));
    return;
  }

  if (method === 'DELETE' && !third) {
    may('delete');
    if (!key) throw keyNotFound(keyName);
    const deleted = { ...key, deletedDate: Math.floor(ctx.now() / 1000) };
    (vault.deletedKeys ??= {})[keyName] = deleted;
    delete vault.keys[keyName];
    ctx.changed();
    setLogDetail(res, `key deleted ${keyName}`);
    sendJson(res, 200, deletedKeyBundle(base, vault, deleted));
    return;
  }

  throw new HttpError(
    405,
    'BadParameter',
    `Method ${method} is not supported on ${url.pathname} by the sandbox.`,
  );
}

const SOFT_DELETE_RETENTION_SECONDS = 90 * 24 * 3600;

function deletedKeyBundle(base: string, vault: VaultRecord, key: KeyRecord & { deletedDate: number }) {
  const latest = latestVersion(key)!;
  return {
    ...keyBundle(base, vault, key, latest),
    recoveryId: `${base}/deletedkeys/${key.name}`,
    deletedDate: key.deletedDate,
    scheduledPurgeDate: key.deletedDate + SOFT_DELETE_RETENTION_SECONDS,
  };
}

/** GET /deletedkeys/<name> and POST /deletedkeys/<name>/recover: a soft-deleted key and its recovery. */
function deletedKeyRequest(
  ctx: SandboxContext,
  vault: VaultRecord,
  caller: Parameters<typeof assertPermission>[2],
  method: string,
  segments: string[],
  res: ServerResponse,
): void {
  const keyName = segments[1] ?? '';
  validKeyName(keyName);
  const deleted = vault.deletedKeys?.[keyName];
  const base = ctx.vaultBaseUrl(vault.name);
  if (method === 'GET' && segments.length === 2) {
    assertPermission(ctx.store, vault, caller, keyName, 'list');
    if (!deleted) throw new HttpError(404, 'KeyNotFound', `Deleted Key not found: ${keyName}`);
    sendJson(res, 200, deletedKeyBundle(base, vault, deleted));
    return;
  }
  if (method === 'POST' && segments[2] === 'recover' && segments.length === 3) {
    assertPermission(ctx.store, vault, caller, keyName, 'recover');
    if (!deleted) throw new HttpError(404, 'KeyNotFound', `Deleted Key not found: ${keyName}`);
    const { deletedDate: _deletedDate, ...key } = deleted;
    vault.keys[keyName] = key;
    delete vault.deletedKeys![keyName];
    ctx.changed();
    setLogDetail(res, `key recovered ${keyName}`);
    sendJson(res, 200, keyBundle(base, vault, key, latestVersion(key)!));
    return;
  }
  throw new HttpError(
    405,
    'BadParameter',
    `Method ${method} is not supported on /${segments.join('/')} by the sandbox.`,
  );
}

async function createKey(
  ctx: SandboxContext,
  vault: VaultRecord,
  keyName: string,
  body: Record<string, unknown>,
  res: ServerResponse,
): Promise<void> {
  const kty = body.kty;
  if (typeof kty !== 'string' || !KEY_TYPES.includes(kty as KeyType)) {
    throw new HttpError(
      400,
      'BadParameter',
      `Property kty has invalid value ${JSON.stringify(kty)}; the sandbox supports ${KEY_TYPES.join(', ')}.`,
    );
  }
  const attrs = isObject(body.attributes) ? body.attributes : {};
  const tags = stringRecord(body.tags);
  const nbf = unixSeconds(attrs.nbf, 'nbf');
  const exp = unixSeconds(attrs.exp, 'exp');
  assertKeyExpiryPolicy(ctx.store, vault, keyName, 'create', exp);
  const v = await createKeyVersion({
    kty: kty as KeyType,
    ...(typeof body.key_size === 'number' ? { keySize: body.key_size } : {}),
    ...(typeof body.crv === 'string' ? { crv: body.crv } : {}),
    ...(Array.isArray(body.key_ops)
      ? { keyOps: body.key_ops.filter((o): o is string => typeof o === 'string') }
      : {}),
    ...(typeof attrs.enabled === 'boolean' ? { enabled: attrs.enabled } : {}),
    ...(nbf !== undefined ? { nbf } : {}),
    ...(exp !== undefined ? { exp } : {}),
    ...(tags ? { tags } : {}),
  });
  const key: KeyRecord = vault.keys[keyName] ?? { name: keyName, versions: [] };
  key.versions.push(v);
  vault.keys[keyName] = key;
  ctx.changed();
  setLogDetail(res, `key created ${keyName} kty=${v.kty} version=${v.version}`);
  sendJson(res, 200, keyBundle(ctx.vaultBaseUrl(vault.name), vault, key, v));
}

function updateVersion(version: KeyVersionRecord, body: Record<string, unknown>, nowMs: number): void {
  const attrs = isObject(body.attributes) ? body.attributes : {};
  if (typeof attrs.enabled === 'boolean') version.enabled = attrs.enabled;
  if ('exp' in attrs) {
    const exp = unixSeconds(attrs.exp, 'exp');
    if (exp === undefined) delete version.exp;
    else version.exp = exp;
  }
  if ('nbf' in attrs) {
    const nbf = unixSeconds(attrs.nbf, 'nbf');
    if (nbf === undefined) delete version.nbf;
    else version.nbf = nbf;
  }
  if (Array.isArray(body.key_ops))
    version.keyOps = body.key_ops.filter((o): o is string => typeof o === 'string');
  const tags = stringRecord(body.tags);
  if (tags) version.tags = tags;
  version.updated = Math.floor(nowMs / 1000);
}

function crypto(
  op: 'wrapKey' | 'unwrapKey' | 'encrypt' | 'decrypt',
  version: KeyVersionRecord,
  body: Record<string, unknown>,
): Buffer {
  const reason = unusableReason(version);
  if (reason === 'disabled')
    throw new HttpError(403, 'Forbidden', `Operation ${op} is not allowed on a disabled key.`, {
      innererror: { code: 'KeyDisabled' },
    });
  if (reason === 'expired')
    throw new HttpError(403, 'Forbidden', `Operation ${op} is not allowed on an expired key.`, {
      innererror: { code: 'KeyExpired' },
    });
  if (reason === 'notYetValid')
    throw new HttpError(403, 'Forbidden', `Operation ${op} is not allowed on a key that is not yet valid.`, {
      innererror: { code: 'KeyNotYetValid' },
    });
  if (!version.keyOps.includes(op))
    throw new HttpError(400, 'BadParameter', `Operation ${op} is not permitted on this key.`);
  const alg = typeof body.alg === 'string' ? body.alg : '';
  if (!isRsa(version.kty))
    throw new HttpError(
      400,
      'BadParameter',
      `Algorithm ${alg} is not supported for key type ${version.kty}.`,
    );
  const value = b64urlDecode(body.value);
  return op === 'wrapKey' || op === 'encrypt'
    ? rsaEncrypt(version, alg, value)
    : rsaDecrypt(version, alg, value);
}
