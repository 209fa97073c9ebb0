// The workflow bundle's entry point: every workflow the worker runs is exported here.
export { describeClusterKeys } from './cluster-keys';
export { keyLedger } from './ledger';
export { planProcedure } from './plan';
// Every procedure's workflow (and the list the CLI and plans read; the worker registers functions only).
export * from './procedures';
export { reencryptSecrets } from './reencrypt';
export { campaign, planCampaign } from './campaign';
export { expiryGuard } from './expiry-guard';
