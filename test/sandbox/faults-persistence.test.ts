import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { restorePoller } from '@azure/arm-containerservice';
import { afterAll, describe, expect, it } from 'vitest';
import { readSandboxEnv } from '../../sandbox/env-file';
import { FaultInjector } from '../../sandbox/faults';
import { loadScenario, ScenarioError } from '../../sandbox/scenario';
import { startSandbox } from '../../sandbox/sandbox';
import { admin, RG, restError, testScenario } from './helpers';

const dirs: string[] = [];
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), 'kmsflow-sb-'));
  dirs.push(d);
  return d;
};
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

const noRetry = { retryOptions: { maxRetries: 0 } };

/** Which of 40 identical operations a 50 % lroFailure rule hits. */
function decisions(seed: number): boolean[] {
  const faults = new FaultInjector({
    seed,
    rules: [{ service: 'arm', probability: 0.5, action: { kind: 'lroFailure', code: 'X', message: 'y' } }],
  });
  return Array.from(
    { length: 40 },
    () => faults.takeLroFailure({ service: 'arm', method: 'PUT', path: '/x' }) !== undefined,
  );
}

describe('faults', () => {
  it('probability decisions are reproducible from the seed', () => {
    const a = decisions(7);
    const b = decisions(7);
    const c = decisions(8);
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
    expect(a.filter(Boolean).length).toBeGreaterThan(5);
    expect(a.filter(Boolean).length).toBeLessThan(35);
  });

  it('injects 429 with Retry-After, 5xx and resets on matching requests only, set through the admin endpoint', async () => {
    const sb = await startSandbox({ scenario: testScenario({ clusters: [] }), operationDurationMs: 100 });
    try {
      const put = await admin(sb.endpoints, 'PUT', '/faults', {
        seed: 3,
        rules: [
          {
            id: 'throttle',
            service: 'arm',
            method: 'GET',
            path: '/vaults/kv-test$',
            count: 1,
            action: { kind: 'throttle', retryAfterSeconds: 7 },
          },
          {
            id: 'boom',
            service: 'keyvault',
            path: '^/keys/kms/?$',
            count: 1,
            action: { kind: 'error', status: 503 },
          },
          {
            id: 'reset',
            service: 'arm',
            path: 'userAssignedIdentities/id-kms$',
            count: 1,
            action: { kind: 'reset' },
          },
        ],
      });
      expect(put.status).toBe(200);
      const az = sb.clients(undefined, noRetry);
      const throttled = await restError(az.keyVaultManagement.vaults.get(RG, 'kv-test'));
      expect(throttled.statusCode).toBe(429);
      expect(
        (
          throttled as unknown as { response?: { headers: { get(n: string): string | undefined } } }
        ).response?.headers.get('retry-after'),
      ).toBe('7');
      expect((await az.keyVaultManagement.vaults.get(RG, 'kv-test')).name).toBe('kv-test');
      expect((await az.keyVaultManagement.vaults.get(RG, 'kv-private')).name).toBe('kv-private');

      const kvErr = await restError(az.keys('kv-test').getKey('kms'));
      expect(kvErr.statusCode).toBe(503);
      expect((await az.keys('kv-test').getKey('kms')).name).toBe('kms');

      const reset = await az.msi.userAssignedIdentities.get(RG, 'id-kms').then(
        () => undefined,
        (e: Error & { code?: string }) => e,
      );
      expect(reset?.code).toMatch(/ECONNRESET|socket hang up/i);
      expect((await az.msi.userAssignedIdentities.get(RG, 'id-kms')).name).toBe('id-kms');

      const state = await admin(sb.endpoints, 'GET', '/faults');
      expect(
        state.json<{ rules: { id: string; hits: number }[] }>().rules.map((r) => [r.id, r.hits]),
      ).toEqual([
        ['throttle', 1],
        ['boom', 1],
        ['reset', 1],
      ]);
      expect((await admin(sb.endpoints, 'POST', '/faults', { action: { kind: 'nope' } })).status).toBe(400);
    } finally {
      await sb.close();
    }
  });

  it('an operationInProgress fault answers the real 409 and kube faults are reachable through the admin endpoint', async () => {
    const sb = await startSandbox({ scenario: testScenario(), operationDurationMs: 100 });
    try {
      sb.faults.addRule({
        service: 'arm',
        method: 'PUT',
        path: '/managedClusters/c-system$',
        count: 1,
        action: { kind: 'operationInProgress', resource: 'nodepool1' },
      });
      const cs = sb.clients(undefined, noRetry).containerService;
      const mc = await cs.managedClusters.get(RG, 'c-system');
      const e = await restError(cs.managedClusters.createOrUpdate(RG, 'c-system', mc).submitted());
      expect(e.statusCode).toBe(409);
      expect(e.message).toMatch(
        /^Operation is not allowed: Another operation \(nodepool1 - Updating\) is in progress/,
      );

      const set = await admin(sb.endpoints, 'PUT', '/clusters/c-legacy/kube-faults', {
        expireContinueAfterPages: 2,
        terminatingNamespaces: ['team-a'],
      });
      expect(set.status).toBe(200);
      expect(sb.kubeCluster('c-legacy')!.kubeFaults.expireContinueAfterPages).toBe(2);
      expect([...sb.kubeCluster('c-legacy')!.kubeFaults.terminatingNamespaces]).toEqual(['team-a']);
      const inspected = await admin(sb.endpoints, 'GET', '/clusters/c-legacy');
      const body = inspected.json<{
        etcd: { total: number; byProvider: { provider: string }[] };
        keySlots: { current: string };
      }>();
      expect(body.etcd.total).toBe(20);
      expect(body.etcd.byProvider[0]?.provider).toBe(`kms-v1:${body.keySlots.current}`);
      const oplog = await admin(sb.endpoints, 'GET', '/oplog?service=arm&method=PUT');
      expect(oplog.json<{ entries: { status: number }[] }>().entries.map((x) => x.status)).toEqual([409]);
    } finally {
      await sb.close();
    }
  });
});

describe('persistence and entry points', () => {
  it('a restarted sandbox keeps clusters, keys, Secrets and an in-flight operation that a restored poller completes', async () => {
    const stateDir = tmp();
    const first = await startSandbox({
      scenario: testScenario(),
      stateDir,
      operationDurationMs: 600,
      persistDebounceMs: 50,
    });
    const port = first.port;
    const cs = first.clients(undefined, noRetry).containerService;
    const mc = await cs.managedClusters.get(RG, 'c-modern');
    const created = await first.clients(undefined, noRetry).keys('kv-test').createRsaKey('after-start');
    const poller = cs.managedClusters.createOrUpdate(
      RG,
      'c-modern',
      { ...mc, tags: { survived: 'restart' } },
      { updateIntervalInMs: 50 },
    );
    await poller.submitted();
    const serialized = await poller.serialize();
    const secretsBefore = first.kubeCluster('c-legacy')!.etcdView();
    await first.close();
    await poller.catch(() => undefined);

    const second = await startSandbox({ stateDir, operationDurationMs: 600 });
    try {
      expect(second.port).toBe(port);
      expect(second.caPem).toBe(first.caPem);
      const fresh = second.clients(undefined, noRetry).containerService;
      const done = await restorePoller(fresh, serialized, fresh.managedClusters.createOrUpdate, {
        updateIntervalInMs: 50,
      });
      expect(done.provisioningState).toBe('Succeeded');
      expect(done.tags).toEqual({ survived: 'restart' });
      expect((await second.clients(undefined, noRetry).keys('kv-test').getKey('after-start')).id).toBe(
        created.id,
      );
      expect(second.kubeCluster('c-legacy')!.etcdView()).toEqual(secretsBefore);
      expect(second.oplog.count({ service: 'arm', method: 'PUT' })).toBeGreaterThanOrEqual(1);
    } finally {
      await second.close();
    }
  });

  it('writes an env file that readSandboxEnv turns back into working client settings', async () => {
    const sb = await startSandbox({ scenario: testScenario({ clusters: [] }) });
    try {
      const file = join(tmp(), 'sandbox.env');
      await sb.writeEnvFile(file);
      const env = readSandboxEnv({ file });
      expect(env).toBeDefined();
      expect(env!.subscriptionId).toBe(sb.subscriptionId);
      expect(env!.principal.objectId).toBe(sb.operator.objectId);
      expect(readFileSync(env!.caPath, 'utf8')).toBe(sb.caPem);
      expect(env!.armEndpoint).toBe(`https://management.azure.com:${sb.port}`);
    } finally {
      await sb.close();
    }
  });

  it('rejects an invalid scenario file with clear messages', async () => {
    const file = join(tmp(), 'bad.yaml');
    writeFileSync(file, 'subscriptions: []\nclusters:\n  - name: c1\n    identity: missing-id\n');
    const e = await loadScenario(file).then(
      () => undefined,
      (err: unknown) => err as Error,
    );
    expect(e).toBeInstanceOf(ScenarioError);
    expect(e!.message).toContain('subscriptions: at least one subscription is required');
  });
});
