/** What the procedure asks for against the cluster's KMS state now (the article: L29 and L218). */
import { parseKeyId, sameKeyId, sameVault } from '../ids';
import type { PreflightFacts } from '../preflight-facts';
import { clusterName, defineRule, targetMode } from './rule';

/** A rotation to a key of another vault: the article (L218) allows it in either mode, as one update. */
export function movesVault(f: PreflightFacts): boolean {
  const from = f.cluster.kms.keyId;
  return !!from && !!f.input.keyId && !sameVault(from, f.input.keyId);
}

function sameKeyAndMode(f: PreflightFacts): boolean {
  return sameKeyId(f.cluster.kms.keyId, f.input.keyId) && f.cluster.kms.networkAccess === targetMode(f);
}

function changesModeInPlace(f: PreflightFacts): boolean {
  const kms = f.cluster.kms;
  return (
    kms.enabled &&
    !!f.input.networkAccess &&
    !!kms.networkAccess &&
    f.input.networkAccess !== kms.networkAccess &&
    !movesVault(f) &&
    !f.input.disablesKms
  );
}

export const alreadyEnabled = defineRule({
  code: 'AlreadyEnabled',
  severity: 'info',
  source: 'kmsflow',
  when: 'KMS already runs with the requested key and mode: only the re-encryption and its proof run.',
  check: (f) =>
    f.cluster.kms.enabled && sameKeyAndMode(f)
      ? {
          message: `KMS is already enabled with this key in ${targetMode(f)} mode; the procedure only re-encrypts and verifies.`,
        }
      : undefined,
});

export const modeChangeWhileEnabled = defineRule({
  code: 'ModeChangeWhileEnabled',
  severity: 'error',
  source: 'L29',
  when: "The requested mode differs from the attached vault's while KMS is on (and the key stays in that vault).",
  check: (f) =>
    changesModeInPlace(f)
      ? {
          message: `KMS is enabled in ${f.cluster.kms.networkAccess} mode; the attached vault's network access mode cannot change while KMS is on.`,
          fix: `Use the switch-vault-mode procedure (it disables KMS, re-encrypts, changes the vault and enables in ${targetMode(f)} mode), or rotate to a key of another vault in the other mode (--mode, --vault-id).`,
        }
      : undefined,
});

export const useRotate = defineRule({
  code: 'UseRotate',
  severity: 'error',
  source: 'kmsflow',
  when: 'enable is asked for on a cluster whose KMS is on with another key: that is a rotation.',
  check: (f) =>
    f.cluster.kms.enabled && !sameKeyAndMode(f) && !changesModeInPlace(f)
      ? {
          message: `KMS is already enabled with ${f.cluster.kms.keyId}; enabling with another key is a rotation.`,
          fix: 'Use the rotate-key procedure, which also re-encrypts and records the proof.',
        }
      : undefined,
});

export const kmsNotEnabled = defineRule({
  code: 'KmsNotEnabled',
  severity: 'error',
  source: 'kmsflow',
  when: 'The procedure needs KMS on and it is off.',
  check: (f) =>
    f.cluster.kms.enabled
      ? undefined
      : {
          message: `KMS is not enabled on cluster ${clusterName(f)}.`,
          fix: 'Use the enable-kms procedure first.',
        },
});

export const sameKey = defineRule({
  code: 'SameKey',
  severity: 'error',
  source: 'kmsflow',
  when: 'A rotation to the key already in use, with every Secret proven under it: nothing to do.',
  check: (f) => {
    if (!sameKeyId(f.cluster.kms.keyId, f.input.keyId) || unprovenUnder(f)) return undefined;
    return {
      message: `The cluster already uses ${f.input.keyId} and every Secret is proven under it.`,
      fix: 'Create a new key version (az keyvault key rotate) and pass its versioned id.',
    };
  },
});

/** The last re-encryption under the key in use was cancelled, failed or not proven. */
function unprovenUnder(f: PreflightFacts): boolean {
  const last = f.ledger.lastReencryption;
  return !!last && !last.proven && sameKeyId(last.keyId, f.input.keyId);
}

export const sameKeyUnproven = defineRule({
  code: 'SameKeyUnproven',
  severity: 'warning',
  source: 'kmsflow',
  when: 'A rotation to the key already in use whose last re-encryption was not proven: it re-encrypts and proves, changing no key.',
  check: (f) => {
    if (!sameKeyId(f.cluster.kms.keyId, f.input.keyId) || !unprovenUnder(f)) return undefined;
    const last = f.ledger.lastReencryption!;
    const run = last.runId ? `run ${last.runId}` : last.workflowId;
    return {
      message: `The cluster already uses ${f.input.keyId}, and the last re-encryption under it (${run}) was cancelled, failed or not proven.`,
      fix: 'Nothing to fix: this rotation changes no key; it re-encrypts every Secret under it and proves it.',
    };
  },
});

export const movesVaultInfo = defineRule({
  code: 'MovesVault',
  severity: 'info',
  source: 'L218',
  when: 'A rotation to a key of another vault: Secrets stay under the old vault until the re-encryption is proven.',
  check: (f) => {
    if (!movesVault(f)) return undefined;
    const from = parseKeyId(f.cluster.kms.keyId!).vaultName;
    return {
      message: `The rotation moves KMS from vault ${from} (${f.cluster.kms.networkAccess ?? 'Public'}) to vault ${parseKeyId(f.input.keyId!).vaultName} (${targetMode(f)}). Secrets stay under ${from}'s key until the re-encryption is proven: the cluster must keep reaching ${from}, and that key must stay enabled, until then.`,
    };
  },
});

export const sameMode = defineRule({
  code: 'SameMode',
  severity: 'error',
  source: 'kmsflow',
  when: 'A mode switch to the mode KMS already runs in.',
  check: (f) => {
    const mode = targetMode(f);
    return f.cluster.kms.networkAccess === mode
      ? {
          message: `KMS already runs in ${mode} mode.`,
          fix: `Pass the other mode (${mode === 'Public' ? 'Private' : 'Public'}).`,
        }
      : undefined;
  },
});

export const alreadyDisabled = defineRule({
  code: 'AlreadyDisabled',
  severity: 'info',
  source: 'kmsflow',
  when: 'disable on a cluster whose KMS is already off: only the re-encryption and its proof run.',
  check: (f) =>
    f.cluster.kms.enabled
      ? undefined
      : { message: 'KMS is already disabled; the procedure only re-encrypts and verifies.' },
});

export const plaintextWindow = defineRule({
  code: 'PlaintextWindow',
  severity: 'warning',
  source: 'L32',
  when: 'KMS is on and the procedure disables it: Secrets are stored unencrypted afterwards, and the key must stay valid.',
  check: (f) =>
    f.cluster.kms.enabled
      ? {
          message:
            'After disabling KMS, Secrets are stored unencrypted in etcd (identity provider) until KMS is enabled again.',
          fix: 'Keep the key enabled: Secrets written before the switch still need it until they are re-encrypted.',
        }
      : undefined,
});

export const KMS_STATE_RULES = [
  alreadyEnabled,
  modeChangeWhileEnabled,
  useRotate,
  kmsNotEnabled,
  sameKey,
  sameKeyUnproven,
  movesVaultInfo,
  sameMode,
  alreadyDisabled,
  plaintextWindow,
] as const;
