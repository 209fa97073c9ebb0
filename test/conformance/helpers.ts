/**
 * Shared setup of the conformance tests: the on/off switch, Key Vault key versions from the sandbox
 * wrapping the plugin's seeds, and client-node clients for the real apiserver.
 */
import * as k8s from '@kubernetes/client-node';
import { beforeAll, describe } from 'vitest';
import { CONFORMANCE_SETUP_HINT, findConformanceBinaries } from '../../conformance/binaries';
import type { LocalControlPlane } from '../../conformance/control-plane';
import { KeyVaultKeyWrapper } from '../../conformance/kms-plugin/key-wrappers';
import { startSandbox, type RunningSandbox } from '../../sandbox/sandbox';
import { testScenario } from '../sandbox/helpers';

export const conformanceEnabled = process.env.KMSFLOW_CONFORMANCE === '1';

/**
 * A suite that needs the real binaries; it runs under `npm run test:conformance` (which sets
 * KMSFLOW_CONFORMANCE=1; the default vitest config excludes these files). Run any other way it fails
 * with that command instead of skipping silently, and missing binaries fail it with the build command.
 */
export function describeConformance(name: string, body: () => void): void {
  describe(name, () => {
    beforeAll(() => {
      if (!conformanceEnabled)
        throw new Error('This is the conformance tier: run it with npm run test:conformance.');
    });
    beforeAll(() => {
      if (!findConformanceBinaries()) throw new Error(CONFORMANCE_SETUP_HINT);
    });
    body();
  });
}

export interface KeyVaultKeys {
  sandbox: RunningSandbox;
  /** Versioned key ids of one RSA key, oldest first. */
  versions: string[];
  /** A plugin key wrapper for version `n` (1-based), acting as the cluster's KMS identity. */
  wrapper(n: number): KeyVaultKeyWrapper;
  close(): Promise<void>;
}

/** A sandbox Key Vault with one RSA key of `count` versions; the plugin acts as `id-kms` (Crypto User). */
export async function keyVaultKeys(count: number): Promise<KeyVaultKeys> {
  const sandbox = await startSandbox({
    scenario: testScenario({ clusters: [] }),
    operationDurationMs: 100,
    propagationDelayMs: 50,
  });
  const noRetry = { retryOptions: { maxRetries: 0 } };
  const keys = sandbox.clients(undefined, noRetry).keys('kv-test');
  const versions = [(await keys.createRsaKey('etcd-kek', { keySize: 2048 })).id!];
  while (versions.length < count) versions.push((await keys.rotateKey('etcd-kek')).id!);
  const crypto = sandbox.clients('id-kms', noRetry);
  return {
    sandbox,
    versions,
    wrapper: (n) => {
      const id = versions[n - 1];
      if (!id) throw new Error(`no key version ${n}`);
      return new KeyVaultKeyWrapper(id, crypto.crypto(id));
    },
    close: () => sandbox.close(),
  };
}

export function coreApiFor(cp: LocalControlPlane): k8s.CoreV1Api {
  const kc = new k8s.KubeConfig();
  kc.loadFromString(cp.kubeconfigYaml());
  return kc.makeApiClient(k8s.CoreV1Api);
}

export function b64(s: string): string {
  return Buffer.from(s).toString('base64');
}
