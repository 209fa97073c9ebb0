/**
 * Differential conformance of the KMS plugin losing its way to Key Vault behind kmsflow's back: the
 * cluster identity's Key Vault role removed, and a firewall on the vault. The real kube-apiserver's plugin
 * calls the sandbox Key Vault as `id-kms`; the emulated API server judges the same vault for the same
 * identity. Both must show the same API server: while running, after a restart, and after the rule is
 * put back.
 */
import type { RoleAssignment } from '@azure/arm-authorization';
import type * as k8s from '@kubernetes/client-node';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { RG } from '../sandbox/helpers';
import { statusOf } from '../sandbox/kube/helpers';
import { startApiserverBackend, startEmulatorBackend, type KubeBackend } from './backends';
import { b64, describeConformance, type KeyVaultKeys } from './helpers';

const CRYPTO_USER = '12338af0-0e69-4776-bea7-57ae8d297424';

const secret = (name: string): k8s.V1Secret => ({
  apiVersion: 'v1',
  kind: 'Secret',
  metadata: { name },
  type: 'Opaque',
  data: { password: b64(`value-${name}`) },
});

/** The status code of a request (200 when it worked). */
const codeOf = (p: Promise<unknown>): Promise<number> =>
  p.then(
    () => 200,
    (e: unknown) => statusOf(e).code,
  );

/** A way Key Vault stops letting the plugin in, and how to put it back. */
interface BrokenRule {
  name: string;
  break(kv: KeyVaultKeys): Promise<() => Promise<void>>;
}

const RULES: BrokenRule[] = [
  {
    name: "the cluster identity's Key Vault role is removed",
    async break(kv) {
      const assignments = kv.sandbox.clients().authorization.roleAssignments;
      const scope = `/subscriptions/${kv.sandbox.subscriptionId}/resourceGroups/${RG}/providers/Microsoft.KeyVault/vaults/kv-test`;
      const found: RoleAssignment[] = [];
      for await (const a of assignments.listForScope(scope))
        if (a.roleDefinitionId?.endsWith(CRYPTO_USER)) found.push(a);
      expect(found).toHaveLength(1);
      const removed = found[0]!;
      await assignments.delete(scope, removed.name!);
      return async () => {
        await assignments.create(scope, randomUUID(), {
          roleDefinitionId: removed.roleDefinitionId!,
          principalId: removed.principalId!,
          principalType: 'ServicePrincipal',
        });
      };
    },
  },
  {
    name: 'a firewall closes the vault (Public mode)',
    async break(kv) {
      const vaults = kv.sandbox.clients().keyVaultManagement.vaults;
      await vaults.update(RG, 'kv-test', {
        properties: { networkAcls: { defaultAction: 'Deny', bypass: 'AzureServices' } },
      });
      return async () => {
        await vaults.update(RG, 'kv-test', {
          properties: { networkAcls: { defaultAction: 'Allow', bypass: 'AzureServices' } },
        });
      };
    },
  },
];

describeConformance('real kube-apiserver vs emulated API: the KMS plugin loses its way to Key Vault', () => {
  let real: KubeBackend & { kv: KeyVaultKeys };
  let emu: KubeBackend;
  let probes = 0;

  beforeAll(async () => {
    real = await startApiserverBackend();
    emu = await startEmulatorBackend({ keyVault: real.kv });
    for (const b of [real, emu])
      for (let i = 1; i <= 3; i++)
        await b.core.createNamespacedSecret({ namespace: 'default', body: secret(`s${i}`) });
  });
  afterAll(async () => {
    await emu?.close();
    await real?.close();
  });

  /** What the API server does now: readiness, a read of a Secret under the key, a write. */
  async function look(b: KubeBackend) {
    const name = `probe-${b.kind}-${++probes}`;
    return {
      readyz: await b.readyz(),
      read: await codeOf(b.core.readNamespacedSecret({ namespace: 'default', name: 's1' })),
      write: await codeOf(b.core.createNamespacedSecret({ namespace: 'default', body: secret(name) })),
    };
  }

  it.each(RULES)(
    '$name: nothing shows at first, readiness, reads and writes fail after a restart, and heal after the rule is back',
    async (rule) => {
      // Both API servers have just checked the plugin, so both still reuse that good check right after the break.
      for (const b of [real, emu]) await b.restart();
      const heal = await rule.break(real.kv);
      const running = { real: await look(real), emu: await look(emu) };
      for (const b of [real, emu]) await b.restart({ expectUnready: true });
      const restarted = { real: await look(real), emu: await look(emu) };
      await heal();
      for (const b of [real, emu]) await b.restart();
      const healed = { real: await look(real), emu: await look(emu) };

      expect({ running: running.real, restarted: restarted.real, healed: healed.real }).toEqual({
        // The last good health check is reused for a minute; the decrypted seed and the write seed are cached.
        running: { readyz: { status: 200, failing: [] }, read: 200, write: 200 },
        restarted: {
          readyz: {
            status: 500,
            failing: ['[-]kms-providers failed: reason withheld', '[-]informer-sync failed: reason withheld'],
          },
          read: 500,
          write: 500,
        },
        healed: { readyz: { status: 200, failing: [] }, read: 200, write: 200 },
      });
      expect(running.emu).toEqual(running.real);
      expect(restarted.emu).toEqual(restarted.real);
      expect(healed.emu).toEqual(healed.real);
    },
  );
});
