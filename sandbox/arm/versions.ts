/** Kubernetes versions the sandbox's AKS offers, and AKS's upgrade rules (one minor at a time, no downgrade). */
import {
  downgradeNotAllowed,
  nodePoolVersionIncompatible,
  upgradeNotAllowed,
  versionNotSupported,
} from './messages';

/** Latest patch per supported minor. */
export const SUPPORTED_VERSIONS = [
  '1.25.16',
  '1.26.15',
  '1.27.16',
  '1.28.15',
  '1.29.14',
  '1.30.13',
  '1.31.9',
  '1.32.4',
  '1.33.1',
] as const;

export interface ParsedVersion {
  major: number;
  minor: number;
  patch?: number;
}

export function parseVersion(v: string): ParsedVersion | undefined {
  const m = /^v?(\d+)\.(\d+)(?:\.(\d+))?$/.exec(v.trim());
  if (!m) return undefined;
  return { major: Number(m[1]), minor: Number(m[2]), ...(m[3] !== undefined ? { patch: Number(m[3]) } : {}) };
}

export function minorOf(v: string): number {
  return parseVersion(v)?.minor ?? 0;
}

function compare(a: ParsedVersion, b: ParsedVersion): number {
  return a.major - b.major || a.minor - b.minor || (a.patch ?? 0) - (b.patch ?? 0);
}

export function compareVersions(a: string, b: string): number {
  const pa = parseVersion(a);
  const pb = parseVersion(b);
  if (!pa || !pb) return a.localeCompare(b);
  return compare(pa, pb);
}

function latestPatchOf(major: number, minor: number): string | undefined {
  return SUPPORTED_VERSIONS.find((v) => {
    const p = parseVersion(v);
    return p?.major === major && p.minor === minor;
  });
}

/**
 * The full version a requested `kubernetesVersion` means: `1.29` is the latest 1.29 patch; a full version
 * must be a supported minor and not newer than its latest patch.
 */
export function resolveVersion(requested: string, location: string): string {
  const p = parseVersion(requested);
  const latest = p && latestPatchOf(p.major, p.minor);
  if (!p || !latest) throw versionNotSupported(requested, location);
  if (p.patch === undefined) return latest;
  const lp = parseVersion(latest);
  if (!lp || p.patch > (lp.patch ?? 0)) throw versionNotSupported(requested, location);
  return `${p.major}.${p.minor}.${p.patch}`;
}

/** Versions a cluster at `current` may move to: later patches of its minor, and the next minor. */
export function availableUpgrades(current: string): string[] {
  const c = parseVersion(current);
  if (!c) return [];
  return SUPPORTED_VERSIONS.filter((v) => {
    const p = parseVersion(v);
    if (!p || p.major !== c.major) return false;
    return (p.minor === c.minor && (p.patch ?? 0) > (c.patch ?? 0)) || p.minor === c.minor + 1;
  });
}

/** Throws AKS's 400 unless `current` -> `target` is a no-op, a patch upgrade or a one-minor upgrade. */
export function assertControlPlaneUpgrade(current: string, target: string): void {
  const c = parseVersion(current);
  const t = parseVersion(target);
  if (!c || !t || compare(c, t) === 0) return;
  if (compare(t, c) < 0) throw downgradeNotAllowed(current, target);
  if (t.major !== c.major || t.minor > c.minor + 1)
    throw upgradeNotAllowed(current, target, availableUpgrades(current));
}

/** A node pool may not be newer than the control plane, nor more than three minors older; it never goes down. */
export function assertPoolVersion(pool: string, current: string, target: string, controlPlane: string): void {
  if (compareVersions(target, current) < 0) throw downgradeNotAllowed(current, target);
  if (compareVersions(target, controlPlane) > 0 || minorOf(controlPlane) - minorOf(target) > 3) {
    throw nodePoolVersionIncompatible(pool, target, controlPlane);
  }
}
