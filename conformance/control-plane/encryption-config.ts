/** The EncryptionConfiguration file kube-apiserver reads (only Secrets are encrypted, as on AKS). */

export type EncryptionProvider =
  { kms: { name: string; endpoint: string; timeout?: string } } | { identity: Record<string, never> };

export function kmsProvider(name: string, endpoint: string, timeout = '3s'): EncryptionProvider {
  if (name.includes(':')) throw new Error(`KMS provider name '${name}' must not contain ':'`);
  return { kms: { name, endpoint, timeout } };
}

export const identityProvider: EncryptionProvider = { identity: {} };

/** Providers in order: the first one writes, every one may read. KMS entries always say `apiVersion: v2`. */
export function encryptionConfigYaml(providers: EncryptionProvider[]): string {
  if (providers.length === 0) throw new Error('an EncryptionConfiguration needs at least one provider');
  const lines = [
    'apiVersion: apiserver.config.k8s.io/v1',
    'kind: EncryptionConfiguration',
    'resources:',
    '  - resources: [secrets]',
    '    providers:',
  ];
  for (const p of providers) {
    if ('kms' in p) {
      lines.push(
        '      - kms:',
        '          apiVersion: v2',
        `          name: ${p.kms.name}`,
        `          endpoint: ${p.kms.endpoint}`,
        `          timeout: ${p.kms.timeout ?? '3s'}`,
      );
    } else {
      lines.push('      - identity: {}');
    }
  }
  return `${lines.join('\n')}\n`;
}
