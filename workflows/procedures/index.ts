/**
 * Every procedure kmsflow runs: its definition and its workflow. The CLI, the plan, the preflight and the
 * worker's bundle all read this list; a new procedure is one file in this folder and one line here.
 */
import { disableKms, disableKmsProcedure } from './disable-kms';
import { enableKms, enableKmsProcedure } from './enable-kms';
import { migrateToKmsV2, migrateToKmsV2Procedure } from './migrate-to-kms-v2';
import { retireKey, retireKeyProcedure } from './retire-key';
import { rotateKey, rotateKeyProcedure } from './rotate-key';
import { switchVaultMode, switchVaultModeProcedure } from './switch-vault-mode';
import type { ProcedureDefinition, ProcedureInputBase, ProcedureOutcome } from './common';

export { disableKms, enableKms, migrateToKmsV2, retireKey, rotateKey, switchVaultMode };

/** A procedure's definition with its workflow: the workflow's function name is its Temporal workflow type. */
export interface Procedure<I extends ProcedureInputBase = ProcedureInputBase, N extends string = string> {
  definition: ProcedureDefinition<I, N>;
  workflow: (input: I) => Promise<ProcedureOutcome>;
}

const procedure = <I extends ProcedureInputBase, const N extends string>(
  definition: ProcedureDefinition<I, N>,
  workflow: (input: I) => Promise<ProcedureOutcome>,
): Procedure<I, N> => ({
  definition,
  workflow,
});

export const PROCEDURES = [
  procedure(enableKmsProcedure, enableKms),
  procedure(disableKmsProcedure, disableKms),
  procedure(rotateKeyProcedure, rotateKey),
  procedure(retireKeyProcedure, retireKey),
  procedure(switchVaultModeProcedure, switchVaultMode),
  procedure(migrateToKmsV2Procedure, migrateToKmsV2),
] as const;

type AnyProcedure = (typeof PROCEDURES)[number];

export type ProcedureName = AnyProcedure['definition']['name'];

/** A procedure's name with its workflow input: what `plan` and `start` carry. */
export type ProcedureRequestOf = {
  [P in AnyProcedure as P['definition']['name']]: {
    procedure: P['definition']['name'];
    input: Parameters<P['workflow']>[0];
  };
}[ProcedureName];

/** The list without each procedure's own input type: for lookups by name or command. */
const ALL = PROCEDURES as unknown as readonly Procedure<ProcedureInputBase, ProcedureName>[];

export function procedureNamed(name: string): Procedure<ProcedureInputBase, ProcedureName> | undefined {
  return ALL.find((p) => p.definition.name === name);
}

export function procedureByCommand(
  command: string,
): Procedure<ProcedureInputBase, ProcedureName> | undefined {
  return ALL.find((p) => p.definition.command === command);
}

export const PROCEDURE_COMMANDS = ALL.map((p) => p.definition.command);
