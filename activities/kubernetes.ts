/** Read-only Kubernetes activities used by preflight and plans. */
import { parseClusterId } from '../model/ids';
import type { ClientFactory } from './clients';
import { mapErrors } from './errors';

export function createKubernetesActivities(clients: ClientFactory) {
  /** How many Secrets the cluster holds, across all namespaces (paged; never reads Secret data into results). */
  async function countSecrets(clusterId: string): Promise<number> {
    const ref = parseClusterId(clusterId);
    const { core } = await clients.kubernetes(ref);
    return mapErrors(`Count the Secrets of cluster ${ref.name}`, async () => {
      let count = 0;
      let token: string | undefined;
      do {
        const page = await core.listSecretForAllNamespaces({ limit: 500, _continue: token });
        count += page.items.length;
        if (token === undefined && page.metadata?.remainingItemCount !== undefined) {
          return count + page.metadata.remainingItemCount;
        }
        token = page.metadata?._continue || undefined;
      } while (token);
      return count;
    });
  }

  async function getApiServerVersion(clusterId: string): Promise<string> {
    const ref = parseClusterId(clusterId);
    const { version } = await clients.kubernetes(ref);
    const info = await mapErrors(`Read the API server version of cluster ${ref.name}`, () =>
      version.getCode(),
    );
    return info.gitVersion;
  }

  return { countSecrets, getApiServerVersion };
}
