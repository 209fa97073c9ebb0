/**
 * The kubeconfig AKS's listClusterUserCredential / listClusterAdminCredential return, pointed at the
 * cluster's emulated API server, or at the external one attached in its place.
 */
import { stringify } from 'yaml';
import { kubeServerUrl } from '../client-options';
import type { SandboxContext } from '../context';
import type { ClusterRecord } from '../store';

export type CredentialKind = 'user' | 'admin';

export function buildKubeconfig(ctx: SandboxContext, cluster: ClusterRecord, kind: CredentialKind): string {
  const userName = `${kind === 'admin' ? 'clusterAdmin' : 'clusterUser'}_${cluster.resourceGroup}_${cluster.name}`;
  const contextName = kind === 'admin' ? `${cluster.name}-admin` : cluster.name;
  const external = ctx.kube.external(cluster.name)?.connection();
  const caPem = external?.caPem ?? ctx.caPem;
  const token = external?.token ?? (kind === 'admin' ? cluster.tokens.admin : cluster.tokens.user);
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      {
        name: cluster.name,
        cluster: {
          'certificate-authority-data': Buffer.from(caPem, 'utf8').toString('base64'),
          server: external?.server ?? kubeServerUrl({ port: ctx.port, caPem: ctx.caPem }, cluster.name),
        },
      },
    ],
    contexts: [{ name: contextName, context: { cluster: cluster.name, user: userName } }],
    'current-context': contextName,
    preferences: {},
    users: [{ name: userName, user: { token } }],
  });
}

export function credentialResults(ctx: SandboxContext, cluster: ClusterRecord, kind: CredentialKind) {
  return {
    kubeconfigs: [
      {
        name: kind === 'admin' ? 'clusterAdmin' : 'clusterUser',
        value: Buffer.from(buildKubeconfig(ctx, cluster, kind), 'utf8').toString('base64'),
      },
    ],
  };
}
