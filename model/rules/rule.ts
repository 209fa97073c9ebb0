/**
 * A preflight rule: a pure function of the facts, with its finding code, default severity, the article line
 * it enforces and the facts it needs read. Rules know no procedure names: each procedure's definition lists
 * the rules that apply to it, and what a procedure intends (it disables KMS first, it retires a version…) is
 * part of its preflight input.
 */
import { parseClusterId } from '../ids';
import type { Finding } from '../preflight';
import type { PreflightFacts } from '../preflight-facts';

/** What the facts reader gathers for a rule, beyond the cluster and its ledger (always read). */
export type Need =
  'keys' | 'vault' | 'leaving-vault' | 'secret-count' | 'upgrade' | 'estate' | 'estate-slots';

export interface RuleFinding {
  message: string;
  fix?: string;
  /** When this finding is more or less severe than the rule's default (say so in `when`). */
  severity?: Finding['severity'];
}

export interface Rule<C extends string = string> {
  code: C;
  severity: Finding['severity'];
  /** The source line it enforces: `L<n>` of the article (shared seed), or `kmsflow` for its own safety rules. */
  source: string;
  /** When it fires, in one sentence: the docs' rule table. */
  when: string;
  needs?: readonly Need[];
  check(facts: PreflightFacts): RuleFinding | RuleFinding[] | undefined;
}

export function defineRule<const C extends string>(rule: Rule<C>): Rule<C> {
  return rule;
}

/** `-g RG -n NAME` of the cluster being checked, for fix commands. */
export function azCluster(facts: PreflightFacts): string {
  const ref = parseClusterId(facts.input.clusterId);
  return `-g ${ref.resourceGroup} -n ${ref.name}`;
}

export function clusterName(facts: PreflightFacts): string {
  return parseClusterId(facts.input.clusterId).name;
}

/** The mode KMS is left in: the one asked for, else the one it runs in, else Public. */
export function targetMode(facts: PreflightFacts): 'Public' | 'Private' {
  return facts.input.networkAccess ?? facts.cluster.kms.networkAccess ?? 'Public';
}

export function daysBetween(fromIso: string, toIso: string): number {
  return (Date.parse(toIso) - Date.parse(fromIso)) / 86_400_000;
}
