/**
 * The preflight contract shared by workflows (which ask), the activity (which reads the facts) and the rules
 * (which judge them): what a procedure asks to check, what it gets back, and the findings in between.
 */
import type { KeyDigest, PermissionReport, VaultDigest } from './azure-digests';
import type { ClusterDigest, NetworkAccess } from './cluster-model';
import type { RuleCode } from './rules';

export interface Finding {
  severity: 'error' | 'warning' | 'info';
  code: string;
  message: string;
  fix?: string;
}

/** Which other clusters a safety decision looks at, and what the operator vouches for where kmsflow cannot see. */
export interface EstateScope {
  /** Subscriptions whose clusters are checked besides the cluster's own, the key vault's and the worker's list. */
  subscriptions?: string[];
  /** Clusters (names or resource ids) the operator declares hold nothing of the key being retired. */
  assumeUnused?: string[];
  /** Go ahead where a check cannot run ("cannot verify"); recorded in the key ledger. */
  acceptUnverified?: boolean;
}

export interface PreflightInput {
  clusterId: string;
  /** The versioned key the procedure enables or rotates to. */
  keyId?: string;
  /** The mode the procedure leaves KMS in (enable, switch, migrate). */
  networkAccess?: NetworkAccess;
  vaultResourceId?: string;
  /** migrate-to-kms-v2: the Kubernetes version to reach (≥ 1.27). */
  targetVersion?: string;
  /** A key expiring within this many days is a warning (default 30). */
  keyValidityDays?: number;
  /** retire-key: the two versions to rotate through, when the operator gave them. */
  newKeyIds?: string[];
  /** The key version the procedure disables or expires at its end (retire). */
  retiresKeyId?: string;
  /** The procedure disables KMS before it enables it again (switch, migrate): a new configuration follows. */
  disablesKms?: boolean;
  /** The procedure itself opens the vault's public network access (switch to Public). */
  opensVaultPublicAccess?: boolean;
  /** The procedure closes the vault's public network access (switch to Private). */
  closesVaultPublicAccess?: boolean;
  /** The procedure moves the cluster off KMS v1 (disable, migrate): the v1 Secret limit is its remedy, not a stop. */
  leavesKmsV1?: boolean;
  estate?: EstateScope;
}

/** The activity's input: the procedure's own preflight input and the rules its definition lists. */
export interface PreflightRequest extends PreflightInput {
  procedure: string;
  rules: readonly RuleCode[];
}

export interface PreflightReport {
  procedure: string;
  cluster: ClusterDigest;
  vault?: VaultDigest;
  key?: KeyDigest;
  permissions?: PermissionReport;
  secretCount?: number;
  findings: Finding[];
  /** Findings the operator overrode (--assume-unused, --accept-unverified): kept as warnings, recorded. */
  overridden?: string[];
  /** True when no finding is an error. */
  ok: boolean;
}

export const KMS_V1_SECRET_LIMIT = 2000;
