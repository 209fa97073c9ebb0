/** Where the Secret scan seeds the values the estate generator does not make (binary, UTF-8, short). */
export const SCAN_SEED_NAMESPACE = 'scan-seeds';

/** Which scan-seed Secret (namespace `scan-seeds`) leaks into which channel; the scan must find each there. */
export const PLANTED = {
  history: 'binary-0',
  describe: 'short-0',
  workerLog: 'utf8-0',
  query: 'binary-1',
} as const;

/** The query control's bytes cross history masked with this, so only the query shows the value. */
export const QUERY_MASK = 0x5a;

/** The control workflow's query, by workflow type, for the scan's live polls. */
export const LEAK_CONTROL_QUERIES = { leakControl: 'leakControl' };
