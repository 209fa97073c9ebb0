/**
 * The name of a procedure's preflight activity, derived from the procedure's name (`rotate-key` →
 * `preflightRotateKey`): the names recorded in every procedure's history, so they never change.
 */
type Pascal<S extends string> = S extends `${infer Head}-${infer Tail}`
  ? `${Capitalize<Head>}${Pascal<Tail>}`
  : Capitalize<S>;

export type PreflightActivityName<N extends string> = `preflight${Pascal<N>}`;

export function preflightActivityName<N extends string>(procedure: N): PreflightActivityName<N> {
  const pascal = procedure
    .split('-')
    .map((word) => word.charAt(0).toUpperCase() + word.slice(1))
    .join('');
  return `preflight${pascal}` as PreflightActivityName<N>;
}
