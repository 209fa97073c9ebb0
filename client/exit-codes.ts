/** Documented exit codes of every kmsflow command. */
export const ExitCode = {
  success: 0,
  /** Something unexpected failed (a connection, a bug). */
  error: 1,
  /** Bad arguments or input: nothing was started or changed. */
  usage: 2,
  /** The procedure waits for an operator: approval, resume or retry after a fix. */
  waiting: 3,
  /** The procedure failed or was cancelled. */
  failed: 4,
  /** The named workflow, cluster or resource does not exist. */
  notFound: 5,
} as const;
