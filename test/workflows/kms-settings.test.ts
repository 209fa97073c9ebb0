// The KMS command kmsflow shows and the ARM profile it sends come from one definition; both must say what
// the article's commands say, flag for flag, in Public and in Private mode (enable and rotate alike).
import * as fs from 'node:fs';
import { expect, it } from 'vitest';
import { desiredCluster } from '../../model/cluster-model';
import { kmsEnableCommand } from '../../model/kms-settings';

// The article's enable and rotate commands (Public: enable, rotate; Private: enable, rotate), as printed there.
const ARTICLE = {
  Public: [
    'az aks update --name myAKSCluster --resource-group MyResourceGroup --enable-azure-keyvault-kms --azure-keyvault-kms-key-vault-network-access "Public" --azure-keyvault-kms-key-id $KEY_ID',
    'az aks update --name myAKSCluster --resource-group MyResourceGroup --enable-azure-keyvault-kms --azure-keyvault-kms-key-vault-network-access "Public" --azure-keyvault-kms-key-id $NEW_KEY_ID',
  ],
  Private: [
    'az aks update --name myAKSCluster --resource-group MyResourceGroup --enable-azure-keyvault-kms --azure-keyvault-kms-key-id $KEY_ID --azure-keyvault-kms-key-vault-network-access "Private" --azure-keyvault-kms-key-vault-resource-id $KEYVAULT_RESOURCE_ID',
    'az aks update --name myAKSCluster --resource-group MyResourceGroup --enable-azure-keyvault-kms --azure-keyvault-kms-key-id $NewKEY_ID --azure-keyvault-kms-key-vault-network-access "Private" --azure-keyvault-kms-key-vault-resource-id $KEYVAULT_RESOURCE_ID',
  ],
} as const;

/** An `az` command as flag → value (quotes dropped, the cluster's name and group normalised). */
function flags(command: string): Record<string, string> {
  const words = command.replace(/"/g, '').split(/\s+/).slice(3);
  const out: Record<string, string> = {};
  for (let i = 0; i < words.length; i++) {
    const flag =
      ({ '-n': '--name', '-g': '--resource-group' } as Record<string, string>)[words[i]!] ?? words[i]!;
    const value = words[i + 1] && !words[i + 1]!.startsWith('-') ? words[++i]! : '';
    out[flag] = value;
  }
  return out;
}

const KEY = 'https://kv.vault.azure.net/keys/k/0123456789abcdef0123456789abcdef';
const VAULT = '/subscriptions/s/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv';

for (const mode of ['Public', 'Private'] as const) {
  it(`shows the article's ${mode} enable and rotate command`, () => {
    for (const [i, article] of ARTICLE[mode].entries()) {
      const keyVariable = flags(article)['--azure-keyvault-kms-key-id']!;
      const ours = kmsEnableCommand('-n myAKSCluster -g MyResourceGroup', {
        keyId: keyVariable,
        networkAccess: mode,
        vaultResourceId: '$KEYVAULT_RESOURCE_ID',
      });
      expect(flags(ours), `${mode} command ${i + 1}`).toEqual(flags(article));
    }
  });

  it(`sends to ARM what the ${mode} command sets`, () => {
    const body = desiredCluster(
      { location: 'eastus' },
      { kind: 'enable-kms', keyId: KEY, networkAccess: mode, vaultResourceId: VAULT },
      'op',
    );
    const shown = flags(
      kmsEnableCommand('-n c -g rg', { keyId: KEY, networkAccess: mode, vaultResourceId: VAULT }),
    );
    expect(body.securityProfile?.azureKeyVaultKms).toEqual({
      enabled: '--enable-azure-keyvault-kms' in shown,
      keyId: shown['--azure-keyvault-kms-key-id'],
      keyVaultNetworkAccess: shown['--azure-keyvault-kms-key-vault-network-access'],
      ...(shown['--azure-keyvault-kms-key-vault-resource-id']
        ? { keyVaultResourceId: shown['--azure-keyvault-kms-key-vault-resource-id'] }
        : {}),
    });
  });

  it(`docs/procedures.md shows the ${mode} command as kmsflow builds it`, () => {
    const docs = fs.readFileSync('docs/procedures.md', 'utf8');
    expect(docs).toContain(
      `\`${kmsEnableCommand('-g RG -n NAME', { keyId: '$KEY_ID', networkAccess: mode, vaultResourceId: '$VAULT_ID' })}\``,
    );
  });
}
