/**
 * Every preflight rule, once: the registry procedure definitions pick from by code, the docs' rule table is
 * generated from, and the rule tests walk.
 */
import { CLUSTER_RULES } from './cluster-rules';
import { ESTATE_RULES } from './estate-rules';
import { KEY_RULES } from './key-rules';
import { KMS_STATE_RULES } from './kms-state-rules';
import type { Finding } from '../preflight';
import type { PreflightFacts } from '../preflight-facts';
import type { Need, Rule } from './rule';
import { VAULT_RULES } from './vault-rules';
import { VERSION_RULES } from './version-rules';

export type { Need, Rule } from './rule';

export const RULES = [
  ...CLUSTER_RULES,
  ...KMS_STATE_RULES,
  ...KEY_RULES,
  ...VAULT_RULES,
  ...VERSION_RULES,
  ...ESTATE_RULES,
] as const;

export type RuleCode = (typeof RULES)[number]['code'];

const BY_CODE = new Map<string, Rule>(RULES.map((r) => [r.code, r]));

export function ruleOf(code: string): Rule | undefined {
  return BY_CODE.get(code);
}

/** What the facts reader must gather for these rules. */
export function needsOf(codes: readonly string[]): Set<Need> {
  return new Set(codes.flatMap((code) => BY_CODE.get(code)?.needs ?? []));
}

/** The findings of these rules over the facts, in the order the rules are listed. */
export function evaluateRules(codes: readonly string[], facts: PreflightFacts): Finding[] {
  return codes.flatMap((code) => {
    const rule = BY_CODE.get(code);
    if (!rule) throw new Error(`unknown preflight rule ${code}`);
    const out = rule.check(facts);
    const findings = out === undefined ? [] : Array.isArray(out) ? out : [out];
    return findings.map(({ severity, message, fix }) => ({
      severity: severity ?? rule.severity,
      code: rule.code,
      message,
      ...(fix ? { fix } : {}),
    }));
  });
}

/** The cluster itself: every procedure checks it first. */
export const CLUSTER_CHECKS = [
  'ClusterFailed',
  'OperationInProgress',
  'ClusterStopped',
  'NodePoolAtZero',
  'SystemAssignedIdentity',
] as const satisfies readonly RuleCode[];

/** The versions Secrets may still be stored under must stay usable (L32, L212). */
export const NEEDED_KEY_CHECKS = [
  'KeyUnreadable',
  'NeededKeyMissing',
  'NeededKeyDisabled',
  'NeededKeyExpired',
  'NeededKeyExpiringSoon',
] as const satisfies readonly RuleCode[];

/** The key versions the procedure switches AKS to (given, or created by it): usable RSA keys the worker reaches. */
export const KEY_VERSION_CHECKS = [
  'KeyNotRsa',
  'KeyDisabled',
  'KeyExpired',
  'KeyExpiringSoon',
  'KeyNotFound',
  'VaultUnreachable',
] as const satisfies readonly RuleCode[];

/** A key the procedure switches AKS to, named by the operator (or the key in use). */
export const TARGET_KEY_CHECKS = [
  'KeyIdRequired',
  ...KEY_VERSION_CHECKS,
  'KeyNotInVault',
  'PrivateNeedsVaultId',
] as const satisfies readonly RuleCode[];

/** The cluster identity's path to the vault of the key, which must keep working while any Secret needs it (L241). */
export const IDENTITY_PATH_CHECKS = [
  'VaultNotFound',
  'VaultUnreadable',
  'VaultUnverified',
  'ForeignTenantVault',
  'PublicModeWithFirewall',
  'IdentityNotFound',
  'IdentityLacksCryptoPermission',
  'VaultRecoverability',
] as const satisfies readonly RuleCode[];

/** A KMS configuration being made: the identity path plus the Private mode's needs (L30, L133, L176). */
export const NEW_CONFIGURATION_CHECKS = [
  ...IDENTITY_PATH_CHECKS,
  'PrivateNeedsVnetIntegration',
  'KonnectivityPrivateVault',
  'PrivateNeedsContributor',
] as const satisfies readonly RuleCode[];
/** What a retirement re-checks right before it disables or expires a version: the estate's hold on it. */
export const ESTATE_RETIREMENT_RULES = [
  'KeyHeldByOtherCluster',
  'PreviousSlotUnknown',
  'EstateUnverified',
] as const satisfies readonly RuleCode[];
