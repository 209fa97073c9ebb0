// Regressions the fault matrix found in the cluster and Key Vault activities, pinned at activity level.
import { keyVersionIds } from '../sandbox/helpers';
import { MockActivityEnvironment } from '@temporalio/testing';
import { ApplicationFailure } from '@temporalio/common';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type Activities, createActivities } from '../../activities';
import { createSandboxClients } from '../../worker/sandbox-clients';
import type { ClusterSubmission } from '../../activities/cluster';
import { startSandbox, type RunningSandbox } from '../../sandbox/sandbox';
import type { ScenarioInput } from '../../sandbox/scenario';
import { clusterId as formatClusterId } from '../../model/ids';

const scenario: ScenarioInput = {
  seed: 71,
  tenantId: '72f988bf-0000-4000-a000-00000000c0de',
  subscriptions: [
    { id: '11111111-2222-4333-8444-555555555555', resourceGroups: [{ name: 'rg-reg', location: 'eastus' }] },
  ],
  principals: [
    { name: 'operator', type: 'User' },
    { name: 'reader', type: 'User' },
  ],
  operator: 'operator',
  identities: [{ name: 'id-kms' }],
  vaults: [{ name: 'kv-reg', keys: [{ name: 'kms', versions: 2 }] }],
  roleAssignments: [
    { role: 'Key Vault Crypto Officer', principal: 'operator', scope: 'vault:kv-reg' },
    { role: 'Key Vault Crypto User', principal: 'id-kms', scope: 'vault:kv-reg' },
  ],
  clusters: [
    {
      name: 'aks-reg',
      kubernetesVersion: '1.29',
      identity: 'id-kms',
      secrets: { count: 5, namespaces: 1, seed: 1, maxBytes: 1000 },
    },
  ],
};

let sandbox: RunningSandbox;
let activities: Activities;
let clusterId: string;
const run = <A extends unknown[], R>(fn: (...args: A) => Promise<R>, ...args: A): Promise<R> =>
  new MockActivityEnvironment().run(fn, ...args) as Promise<R>;

beforeAll(async () => {
  sandbox = await startSandbox({ scenario, operationDurationMs: 200, propagationDelayMs: 50 });
  activities = createActivities({
    clients: createSandboxClients(sandbox.endpoints, sandbox.operator),
    pollIntervalMs: 50,
  });
  clusterId = formatClusterId({
    subscriptionId: sandbox.subscriptionId,
    resourceGroup: 'rg-reg',
    name: 'aks-reg',
  });
});

afterAll(async () => {
  await sandbox?.close();
});

it('sends the change once another operation (409 OperationNotAllowed) has ended, instead of retrying the wait forever', async () => {
  const keys = await keyVersionIds(sandbox, 'kv-reg', 'kms');
  const change = { kind: 'enable-kms' as const, keyId: keys[0]!, networkAccess: 'Public' as const };
  const rule = sandbox.faults.addRule({
    service: 'arm',
    method: 'PUT',
    path: '/managedClusters/aks-reg$',
    count: 1,
    action: { kind: 'operationInProgress' },
  });
  const before = sandbox.oplog.lastSeq;
  const submission: ClusterSubmission = await run(activities.submitClusterChange, {
    clusterId,
    change,
    operationKey: 'wf/enable/1',
  });
  expect(submission).toEqual({ kind: 'in-flight', by: 'other', operationKey: 'wf/enable/1' });
  const digest = await run(activities.awaitClusterChange, { clusterId, change, submission });
  expect(digest.kms).toMatchObject({ enabled: true, keyId: keys[0]! });
  const accepted = sandbox.oplog
    .entries({ service: 'arm', method: 'PUT', afterSeq: before })
    .filter((e) => e.status < 300);
  expect(accepted).toHaveLength(1);
  // A retry of the same await (a worker crash after the PUT) finds the change done and sends nothing.
  await run(activities.awaitClusterChange, { clusterId, change, submission });
  expect(
    sandbox.oplog.entries({ service: 'arm', method: 'PUT', afterSeq: before }).filter((e) => e.status < 300),
  ).toHaveLength(1);
  sandbox.faults.removeRule(rule.id);
});

it('names the fix of a failed operation whose code has none of its own', async () => {
  const keys = await keyVersionIds(sandbox, 'kv-reg', 'kms');
  const change = { kind: 'enable-kms' as const, keyId: keys[1]!, networkAccess: 'Public' as const };
  const rule = sandbox.faults.addRule({
    service: 'arm',
    method: 'PUT',
    path: '/managedClusters/aks-reg$',
    count: 1,
    action: { kind: 'lroFailure', code: 'SomethingNew', message: 'A failure kmsflow has no sentence for.' },
  });
  const submission: ClusterSubmission = await run(activities.submitClusterChange, {
    clusterId,
    change,
    operationKey: 'wf/rotate/1',
  });
  const failure = await run(activities.awaitClusterChange, { clusterId, change, submission }).catch(
    (e: unknown) => e,
  );
  expect(failure).toBeInstanceOf(ApplicationFailure);
  expect((failure as ApplicationFailure).details?.[0]).toMatchObject({
    code: 'SomethingNew',
    fix: expect.stringContaining('retry'),
  });
  sandbox.faults.removeRule(rule.id);
});

it("reports the service's reason when a key listing is refused, not the paging helper's status line", async () => {
  const reader = createActivities({
    clients: createSandboxClients(sandbox.endpoints, sandbox.credential('reader').principal),
    pollIntervalMs: 50,
  });
  const failure = await run(reader.createKeyVersion, {
    vaultUrl: sandbox.vaultUrl('kv-reg'),
    name: 'kms',
    operationKey: 'kmsflow/r/new-key/1',
  }).catch((e: unknown) => e);
  expect(failure).toBeInstanceOf(ApplicationFailure);
  expect((failure as ApplicationFailure).message).toMatch(
    /not authorized .+Microsoft\.KeyVault\/vaults\/keys\/read/,
  );
  expect((failure as ApplicationFailure).message).not.toContain('Pagination failed');
});
