/**
 * Every `patched()` id of kmsflow's workflow code, in one place: each marks a change to the command sequence
 * that procedures already running (or recorded in test/fixtures/histories) must replay without. A run that
 * took a patched branch lists its ids in the TemporalChangeVersion search attribute.
 */

/** v0.2.0: side effects named by the procedure run (child ids), and the re-encryption's start in the ledger. */
export const RUN_SCOPED_IDENTITY_PATCH = 'run-scoped-identity';
/** v0.2.0: the proof reads the watermark back through the API before it is called proven. */
export const WATERMARK_CHECK_PATCH = 'watermark-check';
/** v0.2.0: a cancel reaches a child that continued as new (cancelled by workflow id). */
export const CANCEL_CHILDREN_BY_ID_PATCH = 'cancel-children-by-id';
/** v0.2.0: every ARM operation is timed into the key ledger. */
export const OPERATION_TIMING_PATCH = 'operation-timing';
/** v0.2.0: the key-active stage reports what it waits for. */
export const REPORT_WAITS_PATCH = 'report-waits';

/** v0.3.0: one activity runs several pages of a pass (reencryptPages), so history grows per batch, not per page. */
export const BATCHED_PAGES_PATCH = 'batched-pages';

/** v0.4.0: one `preflight` activity judges the rules the procedure's definition lists, over one read of the facts. */
export const PREFLIGHT_RULES_PATCH = 'preflight-rules';
/** v0.4.0: a retirement is checked against every cluster of the estate (both key slots), not the subscription's current keys. */
export const ESTATE_RETIREMENT_PATCH = 'estate-retirement';

export const ALL_PATCHES = [
  RUN_SCOPED_IDENTITY_PATCH,
  WATERMARK_CHECK_PATCH,
  CANCEL_CHILDREN_BY_ID_PATCH,
  OPERATION_TIMING_PATCH,
  REPORT_WAITS_PATCH,
  BATCHED_PAGES_PATCH,
  PREFLIGHT_RULES_PATCH,
  ESTATE_RETIREMENT_PATCH,
] as const;
