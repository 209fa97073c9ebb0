/** Key Vault activities: a vault's network mode, keys and key versions. Keys are never deleted. */
import type { Vault } from '@azure/arm-keyvault';
import type { KeyClient, KeyProperties, KeyRotationPolicy } from '@azure/keyvault-keys';
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { keyId, parseKeyId, parseVaultId } from '../model/ids';
import type { ClientFactory } from './clients';
import { classifyError, ErrorType, mapErrors, toApplicationFailure } from './errors';
import type { KeyDigest, KeyVersionDigest, VaultDigest } from '../model/azure-digests';

export type { KeyDigest, KeyVersionDigest, VaultDigest };

/** A key version's state for `kmsflow keys`: null fields when it could not be read (`problem` says why). */
export interface KeyState {
  keyId: string;
  enabled: boolean | null;
  expiresOn: string | null;
  problem: string | null;
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

  /**
   * A new version of key `name` that keeps the key's kind (`az keyvault key rotate`); idempotent per operation key.
   * A key with a rotation policy that sets an expiry is rotated by Key Vault (type, size, operations and the
   * policy's expiry carry over). Otherwise the new version copies the previous one (`fromVersion`, default the
   * latest enabled) — its type (RSA / RSA-HSM), size and operations — with an expiry: `expiresOn` or
   * `validityDays` when given, else the previous version's validity window, else one year. A key that does not
   * exist yet is created as RSA (`keySize`, default 2048) valid for one year.
   */
  async function createKeyVersion(input: {
    vaultUrl: string;
    name: string;
    operationKey: string;
    keySize?: number;
    /** The version (id or versioned key id) to copy when Key Vault's own rotation does not apply. */
    fromVersion?: string;
    /** The new version's expiry (ISO 8601); wins over `validityDays` and the rotation policy. */
    expiresOn?: string;
    /** The new version's validity in days from its creation. */
    validityDays?: number;
  }): Promise<KeyVersionDigest> {
    const client = clients.keys(input.vaultUrl);
    const tag = { [KEY_OPERATION_TAG]: input.operationKey };
    const requested =
      input.expiresOn !== undefined
        ? new Date(input.expiresOn)
        : input.validityDays !== undefined
          ? new Date(Date.now() + input.validityDays * DAY_MS)
          : undefined;
    const versions = await mapErrors(`List versions of key ${input.name}`, async () => {
      const all: KeyProperties[] = [];
      try {
        for await (const p of client.listPropertiesOfKeyVersions(input.name)) all.push(p);
      } catch (err) {
        if ((err as { statusCode?: number }).statusCode === 404) return undefined;
        throw await preciseRefusal(client, input.name, err);
      }
      return all;
    });
    const mine = versions?.find((p) => p.tags?.[KEY_OPERATION_TAG] === input.operationKey);
    if (mine) return versionDigestOf(mine);

    /** Tags a version as this operation's (and sets the requested expiry), keeping its other tags. */
    const claim = async (p: KeyProperties): Promise<KeyVersionDigest> => {
      const updated = await mapErrors(`Tag key version ${input.name}/${p.version}`, () =>
        client.updateKeyProperties(input.name, p.version!, {
          tags: { ...p.tags, ...tag },
          ...(requested ? { expiresOn: requested } : {}),
        }),
      );
      return versionDigestOf(updated.properties);
    };

    // Key Vault's rotate takes no tags, so a rotated version is tagged right after. A worker that dies between
    // the two leaves an untagged new version: a retry adopts an untagged version created since this activity
    // was first scheduled instead of rotating again (a version someone else made in that window is just as
    // new, of the same kind and under the same policy). Created times are whole seconds, hence the floor.
    const timing = activityTiming();
    if (versions && timing && timing.attempt > 1) {
      const since = Math.floor(timing.scheduledMs / 1000) * 1000;
      const orphan = versions
        .filter((p) => !p.tags?.[KEY_OPERATION_TAG] && (p.createdOn?.getTime() ?? 0) >= since)
        .sort((a, b) => (b.createdOn?.getTime() ?? 0) - (a.createdOn?.getTime() ?? 0))[0];
      if (orphan) return claim(orphan);
    }

    if (!versions) {
      const key = await mapErrors(`Create key ${input.name}`, () =>
        client.createKey(input.name, 'RSA', {
          keySize: input.keySize ?? 2048,
          expiresOn: requested ?? new Date(Date.now() + YEAR_MS),
          tags: tag,
        }),
      );
      return versionDigestOf(key.properties);
    }

    const policy = input.fromVersion ? undefined : await readRotationPolicy(client, input.name);
    if (policy?.expiresIn) {
      const rotated = await mapErrors(`Rotate key ${input.name}`, () => client.rotateKey(input.name));
      return claim(rotated.properties);
    }

    const sourceVersion = input.fromVersion
      ? (input.fromVersion.split('/').pop() ?? input.fromVersion)
      : latestEnabled(versions)?.version;
    if (!sourceVersion) {
      throw ApplicationFailure.create({
        message: `Create a new version of key ${input.name}: the key has no enabled version to copy`,
        type: ErrorType.validation,
        nonRetryable: true,
        details: [
          {
            code: 'KeyDisabled',
            fix: `Enable a version of ${input.name} (az keyvault key set-attributes --enabled true) or name the version to copy.`,
          },
        ],
      });
    }
    const source = await mapErrors(`Read key ${input.name}/${sourceVersion}`, () =>
      client.getKey(input.name, { version: sourceVersion }),
    );
    const keyType = source.keyType ?? 'RSA';
    const created = Date.now();
    const expiresOn = requested ?? new Date(created + (validityWindowMs(source.properties) ?? YEAR_MS));
    const key = await mapErrors(`Create a new version of key ${input.name}`, () =>
      client.createKey(input.name, keyType, {
        ...(/^RSA/i.test(keyType) ? { keySize: modulusBits(source.key?.n) ?? input.keySize ?? 2048 } : {}),
        ...(source.key?.crv ? { curve: source.key.crv } : {}),
        ...(source.keyOperations?.length ? { keyOps: source.keyOperations } : {}),
        expiresOn,
        tags: tag,
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

const DAY_MS = 86_400_000;
const YEAR_MS = 365 * DAY_MS;

/** The activity's attempt and when it was first scheduled; undefined outside an activity. */
function activityTiming(): { attempt: number; scheduledMs: number } | undefined {
  try {
    const info = Context.current().info;
    return { attempt: info.attempt, scheduledMs: info.scheduledTimestampMs };
  } catch {
    return undefined;
  }
}

/** The key's rotation policy, or undefined when the worker may not read it (then a version is copied instead). */
async function readRotationPolicy(client: KeyClient, name: string): Promise<KeyRotationPolicy | undefined> {
  try {
    return await client.getKeyRotationPolicy(name);
  } catch (err) {
    const status = (err as { statusCode?: number }).statusCode;
    if (status === 403) return undefined;
    throw toApplicationFailure(err, `Read the rotation policy of key ${name}`);
  }
}

/** The newest enabled version. */
function latestEnabled(versions: KeyProperties[]): KeyProperties | undefined {
  return versions
    .filter((p) => p.enabled !== false && p.version)
    .sort((a, b) => (b.createdOn?.getTime() ?? 0) - (a.createdOn?.getTime() ?? 0))[0];
}

/** How long a version was valid for: expiry minus not-before (or creation); undefined without an expiry. */
function validityWindowMs(p: KeyProperties): number | undefined {
  const start = p.notBefore ?? p.createdOn;
  if (!p.expiresOn || !start) return undefined;
  const window = p.expiresOn.getTime() - start.getTime();
  return window > 0 ? window : undefined;
}

/** An RSA modulus's size in bits (2048, 3072, 4096), from the JWK `n`. */
function modulusBits(n: Uint8Array | undefined): number | undefined {
  if (!n?.length) return undefined;
  let i = 0;
  while (i < n.length && n[i] === 0) i++;
  const bytes = n.length - i;
  return bytes > 0 ? Math.ceil(bytes / 32) * 256 : undefined;
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
