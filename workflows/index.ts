// The workflow bundle's entry point: every workflow the worker runs is exported here.
export { describeClusterKeys } from './cluster-keys';
export { keyLedger } from './ledger';
export { planProcedure } from './plan';
export { disableKms } from './procedures/disable-kms';
export { enableKms } from './procedures/enable-kms';
export { migrateToKmsV2 } from './procedures/migrate-to-kms-v2';
export { retireKey } from './procedures/retire-key';
export { rotateKey } from './procedures/rotate-key';
export { switchVaultMode } from './procedures/switch-vault-mode';
export { reencryptSecrets } from './reencrypt';
