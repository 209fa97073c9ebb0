/**
 * The key versions involved: the one the procedure switches AKS to (and those it rotates through) must be
 * usable RSA keys; every version Secrets may still be stored under must stay enabled and unexpired (L32, L212).
 */
import type { KeyDigest } from '../azure-digests';
import { parseKeyId, parseVaultId, sameKeyId } from '../ids';
import { keyRead, type PreflightFacts, problemOf, valueOf } from '../preflight-facts';
import { daysBetween, defineRule, type RuleFinding } from './rule';
import { publicModeBlocked } from './vault-rules';

const DEFAULT_VALIDITY_DAYS = 30;

/** What happens when a needed key stops working (the article: the API server stops working, L32). */
const NEEDED_KEY_BROKEN =
  "AKS's KMS plugin fails its health check on it, and once the API server restarts it cannot read Secrets stored under it.";

const KEY_READER_FIX =
  "Grant the worker's identity 'Key Vault Crypto User' (or Reader on keys) on the vault so preflight can check the key.";

/** The versions the procedure switches AKS to. */
function targetKeys(f: PreflightFacts): string[] {
  return [...(f.input.keyId ? [f.input.keyId] : []), ...(f.input.newKeyIds ?? [])];
}

/** Each target key that was read, with its digest. */
function eachTarget(f: PreflightFacts, judge: (key: KeyDigest, keyId: string) => RuleFinding | undefined) {
  return targetKeys(f).flatMap((keyId) => {
    const key = valueOf(keyRead(f, keyId));
    const finding = key && judge(key, keyId);
    return finding ? [finding] : [];
  });
}

/** Versions Secrets may still be stored under: the key in use, and what the ledger still needs. */
export function neededKeys(f: PreflightFacts): { keyId: string; why: string }[] {
  const inUse = f.cluster.kms.enabled ? f.cluster.kms.keyId : undefined;
  const ids = [
    ...new Set([...(inUse ? [inUse] : []), ...f.ledger.stillNeeded].map((k) => k.replace(/\/+$/, ''))),
  ];
  return ids
    .filter((k) => !sameKeyId(k, f.input.keyId))
    .map((keyId) => ({ keyId, why: whyNeeded(f, keyId, inUse) }));
}

function whyNeeded(f: PreflightFacts, keyId: string, inUse: string | undefined): string {
  if (sameKeyId(keyId, inUse)) return 'the key in use (ARM)';
  const slots = f.ledger.slots;
  const slot = sameKeyId(keyId, slots.current)
    ? 'current'
    : sameKeyId(keyId, slots.previous)
      ? 'previous'
      : undefined;
  if (slot)
    return `in AKS's ${slot} key slot (kmsflow key ledger), which the KMS plugin keeps using even with KMS off`;
  return 'a key Secrets may still be stored under (kmsflow key ledger)';
}

function eachNeeded(
  f: PreflightFacts,
  judge: (key: KeyDigest, keyId: string, why: string) => RuleFinding | undefined,
) {
  return neededKeys(f).flatMap(({ keyId, why }) => {
    const key = valueOf(keyRead(f, keyId));
    const finding = key && judge(key, keyId, why);
    return finding ? [finding] : [];
  });
}

function setAttributes(keyId: string): string {
  const { vaultName, name, version } = parseKeyId(keyId);
  return `az keyvault key set-attributes --vault-name ${vaultName} --name ${name} --version ${version}`;
}

function expired(key: KeyDigest, now: string): boolean {
  return !!key.expiresOn && Date.parse(key.expiresOn) <= Date.parse(now);
}

function expiresWithin(key: KeyDigest, f: PreflightFacts): boolean {
  const days = f.input.keyValidityDays ?? DEFAULT_VALIDITY_DAYS;
  return !!key.expiresOn && !expired(key, f.now) && daysBetween(f.now, key.expiresOn) < days;
}

export const keyIdRequired = defineRule({
  code: 'KeyIdRequired',
  severity: 'error',
  source: 'L115',
  when: 'The procedure sets a key and none was given (nor is one in use).',
  check: (f) =>
    f.input.keyId
      ? undefined
      : {
          message: 'This procedure needs a versioned key id.',
          fix: 'Pass --key-id https://<vault>.vault.azure.net/keys/<name>/<version>.',
        },
});

export const keyNotRsa = defineRule({
  code: 'KeyNotRsa',
  severity: 'error',
  source: 'DESIGN: RSA keys',
  when: 'A key the procedure switches AKS to is not RSA or RSA-HSM.',
  needs: ['keys'],
  check: (f) =>
    eachTarget(f, (key, keyId) =>
      /^RSA(-HSM)?$/i.test(key.keyType)
        ? undefined
        : {
            message: `Key ${key.name} is ${key.keyType}; AKS KMS needs an RSA key.`,
            fix: `Create an RSA key: az keyvault key create --vault-name ${parseKeyId(keyId).vaultName} --name <name> --kty RSA --size 2048.`,
          },
    ),
});

export const keyDisabled = defineRule({
  code: 'KeyDisabled',
  severity: 'error',
  source: 'L32',
  when: 'A key the procedure switches AKS to is disabled.',
  needs: ['keys'],
  check: (f) =>
    eachTarget(f, (key, keyId) =>
      key.enabled
        ? undefined
        : {
            message: `Key version ${key.version} is disabled.`,
            fix: `Enable it (${setAttributes(keyId)} --enabled true) or choose another version.`,
          },
    ),
});

export const keyExpired = defineRule({
  code: 'KeyExpired',
  severity: 'error',
  source: 'L32',
  when: 'A key the procedure switches AKS to has expired.',
  needs: ['keys'],
  check: (f) =>
    eachTarget(f, (key) =>
      expired(key, f.now)
        ? {
            message: `Key version ${key.version} expired on ${key.expiresOn}.`,
            fix: 'Choose a valid version or extend its expiry (az keyvault key set-attributes --expires).',
          }
        : undefined,
    ),
});

export const keyExpiringSoon = defineRule({
  code: 'KeyExpiringSoon',
  severity: 'warning',
  source: 'L32',
  when: 'A key the procedure switches AKS to expires within the validity window (default 30 days).',
  needs: ['keys'],
  check: (f) =>
    eachTarget(f, (key) =>
      expiresWithin(key, f)
        ? {
            message: `Key version ${key.version} expires on ${key.expiresOn}, within ${f.input.keyValidityDays ?? DEFAULT_VALIDITY_DAYS} days; Secrets become unreadable when it expires.`,
            fix: 'Extend its expiry or rotate to a version with a longer life.',
          }
        : undefined,
    ),
});

export const keyNotFound = defineRule({
  code: 'KeyNotFound',
  severity: 'error',
  source: 'L24',
  when: 'A key the procedure switches AKS to does not exist (or its vault does not).',
  needs: ['keys'],
  check: (f) =>
    targetKeys(f)
      .filter((keyId) => problemOf(keyRead(f, keyId))?.kind === 'not-found')
      .map((keyId) => {
        const ref = parseKeyId(keyId);
        return {
          message: `Key ${keyId} does not exist.`,
          fix: `Check the key id (az keyvault key show --id <id>); a key deleted less than its retention period ago can be recovered (az keyvault key recover --vault-name ${ref.vaultName} --name ${ref.name}).`,
        };
      }),
});

export const vaultUnreachable = defineRule({
  code: 'VaultUnreachable',
  severity: 'error',
  source: 'kmsflow',
  when: "The worker's address is refused by the vault's network rules where it must reach the vault itself (a key to check or versions to create).",
  needs: ['keys', 'vault'],
  check: (f) => {
    // In Public mode a vault closed to the internet is the finding itself (PublicModeWithFirewall): it blocks
    // AKS as it blocks the worker. Elsewhere the worker needs its own path (private endpoint, allowed address).
    if (publicModeBlocked(f) || opensItself(f)) return undefined;
    const mustReach = [
      ...targetKeys(f),
      ...(f.input.retiresKeyId && !f.input.newKeyIds?.length ? [f.input.retiresKeyId] : []),
    ];
    const blocked = mustReach.find((keyId) => problemOf(keyRead(f, keyId))?.kind === 'unreachable');
    if (!blocked) return undefined;
    const { vaultName } = parseKeyId(blocked);
    return {
      message: `kmsflow's worker cannot reach key vault ${vaultName}: the vault's network rules (public access disabled, or a firewall) refuse the worker's address, so it can neither check ${blocked} nor create key versions.`,
      fix: "Run the worker where it reaches the vault: inside the VNet, through the vault's private endpoint (docs/deploy.md), or from an address the vault's firewall allows; then start again.",
    };
  },
});

/** A switch to Public opens the vault's public access itself: until then the worker is refused like anyone. */
function opensItself(f: PreflightFacts): boolean {
  const vault = valueOf(f.vault?.read);
  return (
    !!f.input.opensVaultPublicAccess &&
    !!vault &&
    vault.publicNetworkAccess === 'Disabled' &&
    vault.firewallDefaultAction === 'Allow'
  );
}

export const keyUnreadable = defineRule({
  code: 'KeyUnreadable',
  severity: 'warning',
  source: 'kmsflow',
  when: 'kmsflow may not read a key involved (a permission), or cannot reach a key only AKS needs: the check is left to the operator.',
  needs: ['keys'],
  check: (f) => {
    const targets = targetKeys(f).flatMap((keyId) => {
      const problem = problemOf(keyRead(f, keyId));
      return problem?.kind === 'forbidden'
        ? [{ message: `kmsflow cannot read key ${keyId}: ${problem.message}`, fix: KEY_READER_FIX }]
        : [];
    });
    const needed = neededKeys(f).flatMap(({ keyId, why }) => {
      const problem = problemOf(keyRead(f, keyId));
      if (problem?.kind === 'unreachable')
        return [
          {
            message: `kmsflow cannot check ${keyId}, ${why}: the vault's network rules refuse the worker's address.`,
            fix: 'Run the worker inside the VNet (through the private endpoint) to have it checked, or check it there yourself.',
          },
        ];
      if (problem?.kind === 'forbidden')
        return [{ message: `kmsflow cannot read ${keyId}, ${why}: ${problem.message}`, fix: KEY_READER_FIX }];
      return [];
    });
    return [...targets, ...needed];
  },
});

export const keyNotInVault = defineRule({
  code: 'KeyNotInVault',
  severity: 'error',
  source: 'L200',
  when: 'The vault given (--vault-id) is not the vault that holds the key.',
  check: (f) => {
    if (!f.input.vaultResourceId || !f.input.keyId) return undefined;
    const vault = parseVaultId(f.input.vaultResourceId).name;
    const keyVault = parseKeyId(f.input.keyId).vaultName;
    if (vault.toLowerCase() === keyVault.toLowerCase()) return undefined;
    return {
      message: `Key ${f.input.keyId} is in vault ${keyVault}, not in ${vault} (--vault-id).`,
      fix: 'Pass the resource id of the vault that holds the key, or a key of that vault.',
    };
  },
});

export const neededKeyMissing = defineRule({
  code: 'NeededKeyMissing',
  severity: 'error',
  source: 'L212',
  when: 'A version Secrets may still be stored under no longer exists.',
  needs: ['keys'],
  check: (f) =>
    neededKeys(f)
      .filter(({ keyId }) => problemOf(keyRead(f, keyId))?.kind === 'not-found')
      .map(({ keyId, why }) => {
        const { vaultName, name } = parseKeyId(keyId);
        return {
          message: `${keyId}, ${why}, does not exist: ${NEEDED_KEY_BROKEN}`,
          fix: `Recover it while it is soft-deleted (az keyvault key recover --vault-name ${vaultName} --name ${name}), then start again.`,
        };
      }),
});

export const neededKeyDisabled = defineRule({
  code: 'NeededKeyDisabled',
  severity: 'error',
  source: 'L212',
  when: 'A version Secrets may still be stored under is disabled.',
  needs: ['keys'],
  check: (f) =>
    eachNeeded(f, (key, keyId, why) =>
      key.enabled
        ? undefined
        : {
            message: `${keyId}, ${why}, is disabled: ${NEEDED_KEY_BROKEN}`,
            fix: `Enable it until every Secret is proven re-encrypted away from it (${setAttributes(keyId)} --enabled true).`,
          },
    ),
});

export const neededKeyExpired = defineRule({
  code: 'NeededKeyExpired',
  severity: 'error',
  source: 'L212',
  when: 'A version Secrets may still be stored under has expired.',
  needs: ['keys'],
  check: (f) =>
    eachNeeded(f, (key, keyId, why) =>
      key.enabled && expired(key, f.now)
        ? {
            message: `${keyId}, ${why}, expired on ${key.expiresOn}: ${NEEDED_KEY_BROKEN}`,
            fix: `Extend its expiry (${setAttributes(keyId)} --expires <date>).`,
          }
        : undefined,
    ),
});

export const neededKeyExpiringSoon = defineRule({
  code: 'NeededKeyExpiringSoon',
  severity: 'warning',
  source: 'L212',
  when: 'A version Secrets may still be stored under expires within the validity window.',
  needs: ['keys'],
  check: (f) =>
    eachNeeded(f, (key, keyId, why) =>
      key.enabled && expiresWithin(key, f)
        ? {
            message: `${keyId}, ${why}, expires on ${key.expiresOn}, within ${f.input.keyValidityDays ?? DEFAULT_VALIDITY_DAYS} days: it must stay valid until every Secret is re-encrypted away from it and the next rotation is done.`,
            fix: `Extend its expiry (${setAttributes(keyId)} --expires <date>).`,
          }
        : undefined,
    ),
});

export const KEY_RULES = [
  keyIdRequired,
  keyNotRsa,
  keyDisabled,
  keyExpired,
  keyExpiringSoon,
  keyNotFound,
  vaultUnreachable,
  keyUnreadable,
  keyNotInVault,
  neededKeyMissing,
  neededKeyDisabled,
  neededKeyExpired,
  neededKeyExpiringSoon,
] as const;
