/** Kubernetes versions: the v2 migration's target and path (L246), and the KMS v1 Secret limit (L27). */
import { minorVersion, usesKmsV2 } from '../ids';
import { KMS_V1_SECRET_LIMIT } from '../preflight';
import type { PreflightFacts } from '../preflight-facts';
import { clusterName, defineRule } from './rule';

export const alreadyKmsV2 = defineRule({
  code: 'AlreadyKmsV2',
  severity: 'info',
  source: 'L244',
  when: 'The cluster already runs 1.27 or later, where KMS v2 applies.',
  check: (f) =>
    usesKmsV2(f.cluster.kubernetesVersion)
      ? { message: `Cluster ${clusterName(f)} runs ${f.cluster.kubernetesVersion}: KMS v2 already applies.` }
      : undefined,
});

/** Why the target version cannot be used, as a finding code and sentence, or undefined when it can. */
export function targetProblem(
  f: Pick<PreflightFacts, 'input' | 'cluster'>,
): 'TargetVersionRequired' | 'TargetBelowKmsV2' | 'TargetVersionTooOld' | undefined {
  const target = f.input.targetVersion;
  if (!target) return 'TargetVersionRequired';
  if (!usesKmsV2(target)) return 'TargetBelowKmsV2';
  if (minorVersion(target)[1] < minorVersion(f.cluster.kubernetesVersion)[1]) return 'TargetVersionTooOld';
  return undefined;
}

export const targetVersionRequired = defineRule({
  code: 'TargetVersionRequired',
  severity: 'error',
  source: 'L246',
  when: 'The migration was given no target version.',
  check: (f) =>
    targetProblem(f) === 'TargetVersionRequired'
      ? {
          message: 'The migration needs a target Kubernetes version ≥ 1.27.',
          fix: 'Pass --target-version, e.g. 1.29 (az aks get-upgrades lists what is reachable).',
        }
      : undefined,
});

export const targetBelowKmsV2 = defineRule({
  code: 'TargetBelowKmsV2',
  severity: 'error',
  source: 'L246',
  when: 'The target version is below 1.27.',
  check: (f) =>
    targetProblem(f) === 'TargetBelowKmsV2'
      ? {
          message: `Target version ${f.input.targetVersion} is below 1.27, where KMS v2 starts.`,
          fix: 'Choose a target version of 1.27 or later.',
        }
      : undefined,
});

export const targetVersionTooOld = defineRule({
  code: 'TargetVersionTooOld',
  severity: 'error',
  source: 'kmsflow',
  when: "The target version is older than the cluster's (AKS cannot downgrade).",
  check: (f) =>
    targetProblem(f) === 'TargetVersionTooOld'
      ? {
          message: `Target version ${f.input.targetVersion} is older than the cluster's ${f.cluster.kubernetesVersion}.`,
          fix: `Choose a target version ≥ ${f.cluster.kubernetesVersion}.`,
        }
      : undefined,
});

export const upgradePath = defineRule({
  code: 'UpgradePath',
  severity: 'info',
  source: 'L262',
  when: 'The upgrade path to the target, one minor version at a time.',
  needs: ['upgrade'],
  check: (f) =>
    f.upgrade && !('problem' in f.upgrade)
      ? {
          message: f.upgrade.hop
            ? `The upgrade goes one minor version at a time: ${f.upgrade.hops} hop(s), first to ${f.upgrade.hop}.`
            : 'No upgrade is needed.',
        }
      : undefined,
});

export const noUpgradePath = defineRule({
  code: 'NoUpgradePath',
  severity: 'error',
  source: 'L262',
  when: 'AKS offers no upgrade toward the target version.',
  needs: ['upgrade'],
  check: (f) =>
    f.upgrade && 'problem' in f.upgrade
      ? {
          message: f.upgrade.problem,
          fix: 'Check az aks get-upgrades and choose a reachable target version.',
        }
      : undefined,
});

export const kmsV1SecretLimit = defineRule({
  code: 'KmsV1SecretLimit',
  severity: 'error',
  source: 'L27',
  when: 'More than 2,000 Secrets under KMS v1 (< 1.27); a warning when the procedure leaves KMS v1 (disable, migrate).',
  needs: ['secret-count'],
  check: (f) => {
    if (f.secretCount === undefined || usesKmsV2(f.cluster.kubernetesVersion)) return undefined;
    if (f.secretCount <= KMS_V1_SECRET_LIMIT) return undefined;
    const message = `Cluster ${clusterName(f)} holds ${f.secretCount} Secrets; KMS v1 (Kubernetes < 1.27) supports at most ${KMS_V1_SECRET_LIMIT}.`;
    // Leaving KMS v1 is the remedy, so it must stay possible; the re-encryption under v1 is still paced.
    return f.input.leavesKmsV1
      ? {
          severity: 'warning',
          message: `${message} Moving off KMS v1 removes the limit.`,
          fix: 'Expect the re-encryption off KMS v1 to be slower; nothing else is needed.',
        }
      : {
          message,
          fix: `Remove unused Secrets until at most ${KMS_V1_SECRET_LIMIT} remain, or upgrade the cluster to 1.27+ (migrate-to-kms-v2) first.`,
        };
  },
});

export const VERSION_RULES = [
  alreadyKmsV2,
  targetVersionRequired,
  targetBelowKmsV2,
  targetVersionTooOld,
  upgradePath,
  noUpgradePath,
  kmsV1SecretLimit,
] as const;
