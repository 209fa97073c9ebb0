/**
 * A cluster's health as a campaign checks it after a stage's soak, before the next stage: what an operator
 * would look at to trust the stage. Every check that cannot be made is a problem, never a pass. Reads only.
 */
import { Health } from '@kubernetes/client-node';
import type { ClusterDigest } from '../model/cluster-model';
import { parseClusterId, sameKeyId } from '../model/ids';
import type { ClientFactory } from './clients';
import { classifyError } from './errors';
import type { KeyState } from './keyvault';

/** Secrets read back: each read goes through the KMS plugin (a cold cache decrypts). */
const SAMPLE_SECRETS = 5;

export interface ClusterHealth {
  /** One sentence per failed check; empty when the cluster is healthy. */
  problems: string[];
}

export function createHealthActivities(
  clients: ClientFactory,
  deps: {
    getClusterDigest(clusterId: string): Promise<ClusterDigest>;
    keyStates(keyIds: string[]): Promise<KeyState[]>;
  },
) {
  /**
   * ARM's KMS state (as the procedure left it, provisioning Succeeded), the key version's state in Key Vault
   * (enabled, not expired), the API server's readiness (`/readyz`, which includes `kms-providers`) and a read of
   * a sample of Secrets.
   */
  async function checkClusterHealth(input: {
    clusterId: string;
    /** What the procedure left: KMS on (with `keyId` when known), or off (disable-kms). */
    kms: 'on' | 'off';
    keyId?: string;
  }): Promise<ClusterHealth> {
    const ref = parseClusterId(input.clusterId);
    const problems: string[] = [];
    const attempt = async (what: string, check: () => Promise<void>) => {
      try {
        await check();
      } catch (err) {
        problems.push(`${what}: ${classifyError(err).message}`);
      }
    };
    let keyId = input.keyId;
    await attempt('ARM could not be read', async () => {
      const digest = await deps.getClusterDigest(input.clusterId);
      if (input.kms === 'off') {
        if (digest.kms.enabled) problems.push('ARM reports KMS on');
      } else if (!digest.kms.enabled) problems.push('ARM reports KMS off');
      else if (input.keyId && !sameKeyId(digest.kms.keyId, input.keyId))
        problems.push(`ARM reports key ${digest.kms.keyId}, not ${input.keyId}`);
      if (digest.provisioningState.toLowerCase() !== 'succeeded')
        problems.push(`ARM reports the cluster ${digest.provisioningState}`);
      if (input.kms === 'on') keyId ??= digest.kms.keyId;
    });
    if (keyId && input.kms === 'on') {
      const [state] = await deps.keyStates([keyId]);
      if (state?.problem) problems.push(`its key version could not be read: ${state.problem}`);
      else if (state?.enabled === false) problems.push(`its key version ${keyId} is disabled`);
      else if (state?.expiresOn && Date.parse(state.expiresOn) <= Date.now())
        problems.push(`its key version ${keyId} expired on ${state.expiresOn}`);
    }
    await attempt('the API server could not be reached', async () => {
      const { config } = await clients.kubernetes(ref);
      if (!(await new Health(config).readyz({ timeout: 10_000 })))
        problems.push(
          'the API server is not ready (/readyz fails; kms-providers fails when the KMS plugin cannot use its key)',
        );
    });
    await attempt(`a sample of ${SAMPLE_SECRETS} Secrets could not be read`, async () => {
      const { core } = await clients.kubernetes(ref);
      await core.listSecretForAllNamespaces({ limit: SAMPLE_SECRETS });
    });
    return { problems };
  }

  return { checkClusterHealth };
}
