/**
 * Error codes and messages of the real ARM / AKS resource providers (reference/azure.md §10), in one place.
 * Messages marked "sandbox wording" have no verified real text; their codes follow ARM conventions.
 */
import { HttpError } from '../http';

export const OPERATION_IN_PROGRESS_CODE = 'OperationNotAllowed';

export function operationInProgressMessage(resource: string): string {
  return (
    `Operation is not allowed: Another operation (${resource} - Updating) is in progress, please wait for it to finish ` +
    'before starting a new operation. See https://aka.ms/aks-pending-operation for more details'
  );
}

export function operationInProgress(resource: string): HttpError {
  return new HttpError(409, OPERATION_IN_PROGRESS_CODE, operationInProgressMessage(resource));
}

export function resourceNotFound(type: string, name: string, resourceGroup: string): HttpError {
  return new HttpError(
    404,
    'ResourceNotFound',
    `The Resource '${type}/${name}' under resource group '${resourceGroup}' was not found.`,
  );
}

export function resourceGroupNotFound(resourceGroup: string): HttpError {
  return new HttpError(404, 'ResourceGroupNotFound', `Resource group '${resourceGroup}' could not be found.`);
}

export function subscriptionNotFound(subscriptionId: string): HttpError {
  return new HttpError(
    404,
    'SubscriptionNotFound',
    `The subscription '${subscriptionId}' could not be found.`,
  );
}

export function upgradeNotAllowed(from: string, to: string, available: string[]): HttpError {
  return new HttpError(
    400,
    'OperationNotAllowed',
    `Upgrading Kubernetes version ${from} to ${to} is not allowed. Available upgrades: [${available.join(' ')}]. ` +
      'Please see https://aka.ms/aks-supported-k8s-ver for version details.',
  );
}

/** Sandbox wording. */
export function downgradeNotAllowed(from: string, to: string): HttpError {
  return new HttpError(
    400,
    'OperationNotAllowed',
    `Downgrading Kubernetes version ${from} to ${to} is not allowed.`,
  );
}

/** Sandbox wording. */
export function versionNotSupported(version: string, location: string): HttpError {
  return new HttpError(
    400,
    'K8sVersionNotSupported',
    `Version ${version} is not supported in this region ${location}.`,
  );
}

/** Sandbox wording. */
export function nodePoolVersionIncompatible(
  pool: string,
  poolVersion: string,
  controlPlane: string,
): HttpError {
  return new HttpError(
    400,
    'NodePoolMcVersionIncompatible',
    `Node pool ${pool} version ${poolVersion} and control plane version ${controlPlane} are incompatible: a node pool may not be newer than the control plane nor more than 3 minor versions older.`,
  );
}

/** AKS 2023-08-06 release note; the exact code is unverified (reference/azure.md §10). */
export function kmsV1UpgradeBlocked(from: string, to: string): HttpError {
  return new HttpError(
    400,
    'OperationNotAllowed',
    `Upgrading Kubernetes version ${from} to ${to} is not allowed while Azure Key Vault KMS is enabled: KMS v1 clusters below 1.27 ` +
      'cannot upgrade to 1.27 or later. Disable KMS, migrate storage, upgrade, then enable KMS (v2) again.',
  );
}

export const kmsErrors = {
  systemAssignedIdentity: (type: string) =>
    new HttpError(
      400,
      'BadRequest',
      `AzureKeyVaultKms feature does not support cluster identity type ${type}, supported value is 'UserAssigned'`,
    ),
  networkAccessUnspecified: () =>
    new HttpError(400, 'BadRequest', 'KeyVault network access is unspecified for Azure Key Vault KMS.'),
  privateResourceIdEmpty: () =>
    new HttpError(
      400,
      'BadRequest',
      'KeyVault resource ID is empty when KeyVault network access is Private.',
    ),
  privateNeedsVnetIntegration: () =>
    new HttpError(
      400,
      'BadRequest',
      'Vnet integration should be enabled when KeyVault network access is Private.',
    ),
  identityPermission: (vaultUri: string) =>
    new HttpError(
      400,
      'AzureKeyVaultKmsValidateIdentityPermissionCustomerError',
      `The identity does not have keys encrypt/decrypt permission on key vault "${vaultUri}"`,
    ),
  /** Sandbox wording. */
  keyIdInvalid: (keyId: string) =>
    new HttpError(
      400,
      'BadRequest',
      `Key ID "${keyId}" of Azure Key Vault KMS is invalid: a versioned key id https://<vault>.vault.azure.net/keys/<name>/<version> is required.`,
    ),
  /** Sandbox wording. */
  invalidNetworkAccess: (value: string) =>
    new HttpError(
      400,
      'BadRequest',
      `KeyVault network access "${value}" is invalid for Azure Key Vault KMS; supported values are Public and Private.`,
    ),
  /** Sandbox wording. */
  modeChangeWhileEnabled: (from: string, to: string) =>
    new HttpError(
      400,
      'BadRequest',
      `Changing KeyVault network access of Azure Key Vault KMS from ${from} to ${to} is not allowed while KMS is enabled. Disable Azure Key Vault KMS first.`,
    ),
  /** Sandbox wording. */
  keyNotFound: (keyId: string) =>
    new HttpError(400, 'BadRequest', `The Azure Key Vault KMS key "${keyId}" was not found.`),
  /** Sandbox wording. */
  identityNotFound: (identityId: string) =>
    new HttpError(400, 'BadRequest', `The user-assigned identity "${identityId}" was not found.`),
};
