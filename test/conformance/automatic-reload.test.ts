/**
 * Key and provider changes picked up without a restart (the slow path, about a minute per change):
 * the apiserver polls the plugin's Status and the EncryptionConfiguration file about once a minute.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  identityProvider,
  KMS_PROVIDER_NAME,
  kmsProvider,
  LocalControlPlane,
} from '../../conformance/control-plane';
import { LocalAesKeyWrapper } from '../../conformance/kms-plugin/key-wrappers';
import { describeConformance } from './helpers';

const localKey = (n: number) =>
  new LocalAesKeyWrapper(
    `https://kv-local.vault.azure.net/keys/kek/${String(n).padStart(32, '0')}`,
    randomBytes(32),
  );

describeConformance(
  'automatic reload: key rotation and provider switch without restarting kube-apiserver',
  () => {
    let cp: LocalControlPlane;

    beforeAll(async () => {
      cp = await LocalControlPlane.start({ slots: { current: localKey(1) } });
    });
    afterAll(async () => cp?.stop());

    it('adopts a new plugin key id at a Status poll: one Encrypt with the new key, then writes use it', async () => {
      const started = Date.now();
      const pid = cp.apiserverPid;
      await cp.rotateKey(localKey(2), 'reload');
      const encrypt = cp.plugin.calls.find((c) => c.method === 'Encrypt' && c.at >= started);
      expect(encrypt?.keyId).toBe(cp.plugin.currentKeyId);
      // No restart happened.
      expect(cp.apiserverPid).toBe(pid);
      console.log(
        `key rotation adopted by automatic Status polling after ${Math.round((Date.now() - started) / 1000)} s`,
      );
    });

    it('reloads a rewritten EncryptionConfiguration (identity first) and then writes plaintext', async () => {
      const started = Date.now();
      await cp.setProviders([identityProvider, kmsProvider(KMS_PROVIDER_NAME, cp.plugin.endpoint)], 'reload');
      const metrics = await cp.request('GET', '/metrics');
      expect(metrics.body).toMatch(
        /apiserver_encryption_config_controller_automatic_reloads_total\{[^}]*status="success"[^}]*\} [1-9]/,
      );
      console.log(
        `EncryptionConfiguration reload adopted after ${Math.round((Date.now() - started) / 1000)} s`,
      );
    });
  },
);
