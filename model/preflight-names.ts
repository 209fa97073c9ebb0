/**
 * The per-procedure preflight activities of runs started before one `preflight` activity took the rules with
 * its input. Their names are recorded in those runs' histories, so they never change; no procedure added
 * since has one.
 */
export const LEGACY_PREFLIGHT_PROCEDURES = [
  'enable-kms',
  'disable-kms',
  'rotate-key',
  'retire-key',
  'switch-vault-mode',
  'migrate-to-kms-v2',
] as const;

export type LegacyPreflightProcedure = (typeof LEGACY_PREFLIGHT_PROCEDURES)[number];

type Pascal<S extends string> = S extends `${infer Head}-${infer Tail}`
  ? `${Capitalize<Head>}${Pascal<Tail>}`
  : Capitalize<S>;

export type LegacyPreflightActivityName = `preflight${Pascal<LegacyPreflightProcedure>}`;

export function preflightActivityName<N extends LegacyPreflightProcedure>(
  procedure: N,
): `preflight${Pascal<N>}` {
  const pascal = procedure
    .split('-')
    .map((word) => word.charAt(0).toUpperCase() + word.slice(1))
    .join('');
  return `preflight${pascal}` as `preflight${Pascal<N>}`;
}
