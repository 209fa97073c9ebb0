import { describe, expect, it } from 'vitest';
import {
  clusterId,
  keyId,
  minorVersion,
  parseClusterId,
  parseKeyId,
  parseVaultId,
  sameKeyId,
  usesKmsV2,
} from '../../model/ids';

const CLUSTER =
  '/subscriptions/0000-1/resourceGroups/rg-prod/providers/Microsoft.ContainerService/managedClusters/aks-1';

describe('identifiers', () => {
  it('parses and rebuilds cluster ids, case-insensitively on the fixed segments', () => {
    expect(parseClusterId(CLUSTER)).toEqual({
      subscriptionId: '0000-1',
      resourceGroup: 'rg-prod',
      name: 'aks-1',
    });
    expect(clusterId(parseClusterId(CLUSTER.toLowerCase()))).toBe(CLUSTER);
    expect(() =>
      parseClusterId('/subscriptions/x/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/v'),
    ).toThrow(/not an AKS cluster resource id.*az aks show --query id/);
  });

  it('parses vault ids and names the fix for a wrong one', () => {
    expect(
      parseVaultId('/subscriptions/s/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv1'),
    ).toMatchObject({ name: 'kv1' });
    expect(() => parseVaultId('kv1')).toThrow(/az keyvault show --name <vault> --query id/);
  });

  it('accepts only versioned key ids and explains how to get one', () => {
    const ref = parseKeyId('https://KV1.vault.azure.net/keys/kms-key/0123abcd');
    expect(ref).toEqual({
      vaultUrl: 'https://kv1.vault.azure.net',
      vaultName: 'kv1',
      name: 'kms-key',
      version: '0123abcd',
    });
    expect(keyId(ref)).toBe('https://kv1.vault.azure.net/keys/kms-key/0123abcd');
    expect(parseKeyId('https://kv1.vault.azure.net:8443/keys/k/v1').vaultUrl).toBe(
      'https://kv1.vault.azure.net:8443',
    );
    expect(() => parseKeyId('https://kv1.vault.azure.net/keys/kms-key')).toThrow(
      /no key version.*az keyvault key show --vault-name kv1 --name kms-key --query key.kid/,
    );
    expect(() => parseKeyId('http://kv1.vault.azure.net/keys/k/v')).toThrow(/not a Key Vault key id/);
    expect(() => parseKeyId('https://example.com/keys/k/v')).toThrow(/not a Key Vault key id/);
    expect(() => parseKeyId('https://kv1.vault.azure.net/secrets/k/v')).toThrow(/not a Key Vault key id/);
    expect(sameKeyId('https://KV1.vault.azure.net/keys/k/v/', 'https://kv1.vault.azure.net/keys/k/v')).toBe(
      true,
    );
    expect(sameKeyId('https://kv1.vault.azure.net/keys/k/v1', 'https://kv1.vault.azure.net/keys/k/v2')).toBe(
      false,
    );
  });

  it('reads Kubernetes minor versions and the KMS v2 threshold', () => {
    expect(minorVersion('1.26.15')).toEqual([1, 26]);
    expect(usesKmsV2('1.26.15')).toBe(false);
    expect(usesKmsV2('1.27')).toBe(true);
    expect(() => minorVersion('latest')).toThrow(/not a Kubernetes version/);
  });
});
