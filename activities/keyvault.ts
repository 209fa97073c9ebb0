/** Key Vault activities: a vault's network mode, keys and key versions. Keys are never deleted. */
import type { Vault } from '@azure/arm-keyvault';
import type { KeyClient, KeyProperties } from '@azure/keyvault-keys';
import { keyId, parseKeyId, parseVaultId } from '../model/ids';
import type { ClientFactory } from './clients';
import { classifyError, mapErrors } from './errors';

export interface VaultDigest {
  id: string;
  name: string;
  tenantId: string;
  vaultUri?: string;
  publicNetworkAccess: 'Enabled' | 'Disabled';
  /** `Deny` means a firewall ("selected networks"): unsupported for KMS in Public mode. */
  firewallDefaultAction: 'Allow' | 'Deny';
  enableRbacAuthorization: boolean;
  enableSoftDelete: boolean;
  enablePurgeProtection: boolean;
  /** Object ids with both encrypt and decrypt key permissions in the access policies (non-RBAC vaults). */
  accessPolicyCryptoPrincipals: string[];
}

export interface KeyVersionDigest {
  id: string;
  name: string;
  version: string;
  enabled: boolean;
  expiresOn?: string;
  createdOn?: string;
}

/** A key version's state for `kmsflow keys`: null fields when it could not be read (`problem` says why). */
export interface KeyState {
  keyId: string;
  enabled: boolean | null;
  expiresOn: string | null;
  problem: string | null;
}

export interface KeyDigest extends KeyVersionDigest {
  keyType: string;
  keyOps: string[];
}

export function vaultDigestOf(vault: Vault): VaultDigest {
  const p = vault.properties;
  return {
    id: vault.id ?? '',
    name: vault.name ?? '',
    tenantId: p.tenantId,
    vaultUri: p.vaultUri,
    publicNetworkAccess:
      (p.publicNetworkAccess ?? 'Enabled').toLowerCase() === 'disabled' ? 'Disabled' : 'Enabled',
    firewallDefaultAction: p.networkAcls?.defaultAction === 'Deny' ? 'Deny' : 'Allow',
    enableRbacAuthorization: p.enableRbacAuthorization === true,
    enableSoftDelete: p.enableSoftDelete !== false,
    enablePurgeProtection: p.enablePurgeProtection === true,
    accessPolicyCryptoPrincipals: (p.accessPolicies ?? [])
      .filter((a) => {
        const keys = (a.permissions.keys ?? []).map((k) => k.toLowerCase());
        return keys.includes('all') || (keys.includes('encrypt') && keys.includes('decrypt'));
      })
      .map((a) => a.objectId),
  };
}

function versionDigestOf(p: KeyProperties): KeyVersionDigest {
  return {
    id: p.id ?? keyId({ vaultUrl: p.vaultUrl, name: p.name, version: p.version ?? '' }),
    name: p.name,
    version: p.version ?? '',
    enabled: p.enabled !== false,
    ...(p.expiresOn ? { expiresOn: p.expiresOn.toISOString() } : {}),
    ...(p.createdOn ? { createdOn: p.createdOn.toISOString() } : {}),
  };
}

/** Tag on a key version kmsflow created, so a retried create finds it instead of making another. */
export const KEY_OPERATION_TAG = 'kmsflow-operation';

export function createKeyVaultActivities(clients: ClientFactory) {
  async function getVaultDigest(vaultResourceId: string): Promise<VaultDigest> {
    const ref = parseVaultId(vaultResourceId);
    const vault = await mapErrors(`Read key vault ${ref.name}`, () =>
      clients.keyVaultManagement(ref.subscriptionId).vaults.get(ref.resourceGroup, ref.name),
    );
    return vaultDigestOf(vault);
  }

  /** `az keyvault update --public-network-access Enabled|Disabled`, only when it differs. */
  async function ensureVaultPublicNetworkAccess(input: {
    vaultResourceId: string;
    publicNetworkAccess: 'Enabled' | 'Disabled';
  }): Promise<VaultDigest & { changed: boolean }> {
    const ref = parseVaultId(input.vaultResourceId);
    const before = await getVaultDigest(input.vaultResourceId);
    if (before.publicNetworkAccess === input.publicNetworkAccess) return { ...before, changed: false };
    const vault = await mapErrors(
      `Set public network access of key vault ${ref.name} to ${input.publicNetworkAccess}`,
      () =>
        clients.keyVaultManagement(ref.subscriptionId).vaults.update(ref.resourceGroup, ref.name, {
          properties: { publicNetworkAccess: input.publicNetworkAccess },
        }),
    );
    return { ...vaultDigestOf(vault), changed: true };
  }

  async function getKey(versionedKeyId: string): Promise<KeyDigest> {
    const ref = parseKeyId(versionedKeyId);
    const key = await mapErrors(`Read key ${ref.name}/${ref.version}`, () =>
      clients.keys(ref.vaultUrl).getKey(ref.name, { version: ref.version }),
    );
    return {
      ...versionDigestOf(key.properties),
      keyType: key.keyType ?? 'unknown',
      keyOps: key.keyOperations ?? [],
    };
  }

  /** Each key's state as Key Vault reports it; a key that cannot be read says why instead of failing the lot. */
  async function keyStates(keyIds: string[]): Promise<KeyState[]> {
    return Promise.all(
      keyIds.map(async (keyId): Promise<KeyState> => {
        try {
          const key = await getKey(keyId);
          return { keyId, enabled: key.enabled, expiresOn: key.expiresOn ?? null, problem: null };
        } catch (err) {
          return { keyId, enabled: null, expiresOn: null, problem: classifyError(err).message };
        }
      }),
    );
  }

  /** A new RSA version of key `name` (`az keyvault key create` / rotate); idempotent per operation key. */
  async function createKeyVersion(input: {
    vaultUrl: string;
    name: string;
    operationKey: string;
    keySize?: number;
  }): Promise<KeyVersionDigest> {
    const client = clients.keys(input.vaultUrl);
    const existing = await mapErrors(`List versions of key ${input.name}`, async () => {
      try {
        for await (const p of client.listPropertiesOfKeyVersions(input.name)) {
          if (p.tags?.[KEY_OPERATION_TAG] === input.operationKey) return versionDigestOf(p);
        }
      } catch (err) {
        if ((err as { statusCode?: number }).statusCode === 404) return undefined;
        throw await preciseRefusal(client, input.name, err);
      }
      return undefined;
    });
    if (existing) return existing;
    const key = await mapErrors(`Create a new version of key ${input.name}`, () =>
      client.createRsaKey(input.name, {
        keySize: input.keySize ?? 2048,
        tags: { [KEY_OPERATION_TAG]: input.operationKey },
      }),
    );
    return versionDigestOf(key.properties);
  }

  /** Retires a key version by disabling it or setting its expiry to now. Never deletes. Idempotent. */
  async function retireKeyVersion(input: {
    keyId: string;
    how: 'disable' | 'expire';
  }): Promise<KeyVersionDigest> {
    const ref = parseKeyId(input.keyId);
    const current = await getKey(input.keyId);
    const alreadyRetired =
      input.how === 'disable'
        ? !current.enabled
        : current.expiresOn !== undefined && Date.parse(current.expiresOn) <= Date.now();
    if (alreadyRetired) return current;
    const options = input.how === 'disable' ? { enabled: false } : { expiresOn: new Date() };
    const key = await mapErrors(
      `${input.how === 'disable' ? 'Disable' : 'Expire'} key version ${ref.name}/${ref.version}`,
      () => clients.keys(ref.vaultUrl).updateKeyProperties(ref.name, ref.version, options),
    );
    return versionDigestOf(key.properties);
  }

  return {
    getVaultDigest,
    ensureVaultPublicNetworkAccess,
    getKey,
    keyStates,
    createKeyVersion,
    retireKeyVersion,
  };
}

/**
 * The Key Vault client's paging keeps only the status of a refused listing ("Pagination failed with unexpected
 * statusCode 403"), not the service's reason (ForbiddenByRbac, ForbiddenByFirewall) or sentence. A single GET
 * of the key is refused the same way, in full: that error is the one to report.
 */
async function preciseRefusal(client: KeyClient, name: string, err: unknown): Promise<unknown> {
  const status = (err as { statusCode?: number }).statusCode;
  if (status !== 401 && status !== 403) return err;
  try {
    await client.getKey(name);
    return err;
  } catch (precise) {
    return precise;
  }
}
