// The workflow bundle's entry point: every workflow the worker runs, and nothing else. Each function exported
// here is a workflow type a client can start, so definitions, lists and helpers are imported from their own
// modules (the procedure list from ./procedures), never from here.
export { describeClusterKeys } from './cluster-keys';
export { keyLedger } from './ledger';
export { planProcedure } from './plan';
// Every procedure's workflow.
export { disableKms, enableKms, migrateToKmsV2, retireKey, rotateKey, switchVaultMode } from './procedures';
export { reencryptSecrets } from './reencrypt';
export { campaign } from './campaign';
export { planCampaign } from './campaign-plan';
export { expiryGuard } from './expiry-guard';
export { retireVersion } from './retire-version';
