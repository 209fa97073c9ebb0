/**
 * The flags a procedure may take on the command line, after the CLI checked each one's format, and the
 * rule for a missing or misplaced one. Each procedure definition declares which flags it takes and builds
 * its workflow input from them; the CLI only parses and reports.
 */
import type { NetworkAccess } from './kms-settings';

export interface CheckedFlags {
  keyId?: string;
  mode?: NetworkAccess;
  vaultResourceId?: string;
  targetVersion?: string;
  newKeyIds?: [string, string];
  how?: 'disable' | 'expire';
}

export type ProcedureFlag = keyof CheckedFlags;

/** Each flag as typed, and what to give when it is missing. */
export const FLAG_HELP: Record<ProcedureFlag, { flag: string; what: string }> = {
  keyId: {
    flag: '--key-id',
    what: 'the versioned key id, from az keyvault key show --vault-name VAULT --name KEY --query key.kid -o tsv',
  },
  mode: { flag: '--mode', what: 'the network access mode, Public or Private' },
  vaultResourceId: {
    flag: '--vault-id',
    what: "the key vault's resource id, from az keyvault show --name VAULT --query id -o tsv",
  },
  targetVersion: {
    flag: '--target-version',
    what: 'the Kubernetes version to reach, 1.27 or later (e.g. 1.29)',
  },
  newKeyIds: { flag: '--new-key-ids', what: 'two versioned key ids separated by a comma (K2,K3)' },
  how: { flag: '--how', what: 'disable or expire' },
};

/** A procedure's inputs do not fit together; the message is one sentence naming the fix. */
export class ProcedureInputError extends Error {
  override name = 'ProcedureInputError';
}

/** The value of a flag the procedure needs, or an error naming the flag and where its value comes from. */
export function required<F extends ProcedureFlag>(
  command: string,
  flags: CheckedFlags,
  flag: F,
  what = FLAG_HELP[flag].what,
): NonNullable<CheckedFlags[F]> {
  const value = flags[flag];
  if (value === undefined)
    throw new ProcedureInputError(`${command} needs ${FLAG_HELP[flag].flag}: ${what}.`);
  return value as NonNullable<CheckedFlags[F]>;
}

/** Private mode names its vault. */
export function privateNeedsVault(mode: NetworkAccess | undefined, flags: CheckedFlags): void {
  if (mode === 'Private' && !flags.vaultResourceId) {
    throw new ProcedureInputError(`--mode Private needs --vault-id: ${FLAG_HELP.vaultResourceId.what}.`);
  }
}
