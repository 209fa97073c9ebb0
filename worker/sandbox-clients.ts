/**
 * kmsflow's clients against the sandbox: the one client factory with the sandbox's CA, host mapping and
 * credential. The worker chooses these or production's (activities-from-env.ts); tests and the demo too.
 */
import { buildFactory, type ClientFactory, type KubernetesAccess } from '../activities/clients';
import {
  type SandboxClientTuning,
  SandboxCredential,
  type SandboxEndpoints,
  type SandboxPrincipal,
  sandboxAzureClientOptions,
  sandboxKeyVaultClientOptions,
} from '../sandbox/client-options';

export function createSandboxClients(
  endpoints: SandboxEndpoints,
  principal: SandboxPrincipal,
  options: { tuning?: SandboxClientTuning; kubernetesAccess?: KubernetesAccess } = {},
): ClientFactory {
  return buildFactory({
    credential: new SandboxCredential(principal),
    armOptions: () => sandboxAzureClientOptions(endpoints, options.tuning),
    keyVaultOptions: () => sandboxKeyVaultClientOptions(endpoints, options.tuning),
    kubernetesAccess: options.kubernetesAccess ?? { kind: 'arm' },
  });
}
