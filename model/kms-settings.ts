/**
 * The KMS settings of `az aks update --enable-azure-keyvault-kms`: one definition for the ARM profile kmsflow
 * sends (cluster-model.ts) and the command plans, steps and docs show. Pure, for workflows too.
 */
import type { ManagedCluster } from '@azure/arm-containerservice';

export type NetworkAccess = 'Public' | 'Private';

/** What `az aks update --enable-azure-keyvault-kms` sets: the key, the vault's network access, and in Private mode the vault. */
export interface KmsSettings {
  keyId: string;
  networkAccess: NetworkAccess;
  vaultResourceId?: string;
}

/** The ARM profile of the settings. Private mode names the vault; Public mode does not. */
export function kmsProfile(
  settings: KmsSettings,
): NonNullable<NonNullable<ManagedCluster['securityProfile']>['azureKeyVaultKms']> {
  return {
    enabled: true,
    keyId: settings.keyId,
    keyVaultNetworkAccess: settings.networkAccess,
    ...(settings.networkAccess === 'Private' ? { keyVaultResourceId: settings.vaultResourceId } : {}),
  };
}

/** The same settings as the operator would type them (`az` is `-g <group> -n <name>`). */
export function kmsEnableCommand(az: string, settings: KmsSettings): string {
  const profile = kmsProfile(settings);
  return (
    `az aks update ${az} --enable-azure-keyvault-kms --azure-keyvault-kms-key-id ${profile.keyId} ` +
    `--azure-keyvault-kms-key-vault-network-access ${profile.keyVaultNetworkAccess}` +
    (profile.keyVaultNetworkAccess === 'Private'
      ? ` --azure-keyvault-kms-key-vault-resource-id ${profile.keyVaultResourceId ?? '<vault resource id>'}`
      : '')
  );
}
