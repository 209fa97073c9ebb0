/** The kubeconfig AKS's listClusterUserCredential / listClusterAdminCredential return, pointed at the emulated API server. */
import { stringify } from 'yaml';
import { kubeServerUrl } from '../client-options';
import type { SandboxContext } from '../context';
import type { ClusterRecord } from '../store';

export type CredentialKind = 'user' | 'admin';

export function buildKubeconfig(ctx: SandboxContext, cluster: ClusterRecord, kind: CredentialKind): string {
  const userName = `${kind === 'admin' ? 'clusterAdmin' : 'clusterUser'}_${cluster.resourceGroup}_${cluster.name}`;
  const contextName = kind === 'admin' ? `${cluster.name}-admin` : cluster.name;
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      {
        name: cluster.name,
        cluster: {
          'certificate-authority-data': Buffer.from(ctx.caPem, 'utf8').toString('base64'),
          server: kubeServerUrl({ port: ctx.port, caPem: ctx.caPem }, cluster.name),
        },
      },
    ],
    contexts: [{ name: contextName, context: { cluster: cluster.name, user: userName } }],
    'current-context': contextName,
    preferences: {},
    users: [{ name: userName, user: { token: kind === 'admin' ? cluster.tokens.admin : cluster.tokens.user } }],
  });
}

export function credentialResults(ctx: SandboxContext, cluster: ClusterRecord, kind: CredentialKind) {
  return {
    kubeconfigs: [
      { name: kind === 'admin' ? 'clusterAdmin' : 'clusterUser', value: Buffer.from(buildKubeconfig(ctx, cluster, kind), 'utf8').toString('base64') },
    ],
  };
}
