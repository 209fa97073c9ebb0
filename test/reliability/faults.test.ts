// The fault matrix: every procedure, twice, under the sandbox's faults (429 storms, 5xx, slow responses,
// connection resets, LROs ending Failed, 409 operation in progress, continue-token expiry, write conflicts,
// a disabled key version, a firewalled vault, a missing Key Vault role). Each run either completes, or
// blocks with the precise reason and its fix and completes after the fault is cleared and `retry` is sent.
// Whatever happened, a completed run is proven and every Secret is readable under the expected key.
import { randomUUID } from 'node:crypto';
import type { RoleAssignment } from '@azure/arm-authorization';
import type { WorkflowHandle } from '@temporalio/client';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { FaultRuleInput, FaultRuleState } from '../../sandbox/faults';
import type { ScenarioInput } from '../../sandbox/scenario';
import {
  type BlockedReason,
  type ProcedureProgress,
  procedureWorkflowId,
  progressQuery,
  retryUpdate,
} from '../../workflows/messages';
import type { ProcedureOutcome } from '../../workflows/procedures/common';
import type { PassTotals } from '../../workflows/reencrypt';
import { FAST_REENCRYPT, type KmsflowTestEnv, resultWithin, startKmsflowEnv } from '../helpers/kmsflow-env';
import { waitUntil } from '../helpers/wait';
import { recordFigure } from './figures';
import { duplicates, repeatedArmChanges } from './oplog-checks';
import { installCollectingRuntime } from '../helpers/temporal-env';
import { LEAK_CONTROL_QUERIES } from '../helpers/leak-controls/planted';
import {
  findingsByChannel,
  LeakMatcher,
  LeakScan,
  plantedIds,
  pollLiveViews,
  scanHistories,
  seededSecretValues,
  seedScanSecrets,
} from './secret-scan';

// The in-process worker's log lines (SDK and core, DEBUG and up) are kept for the Secret scan.
const workerLogs = installCollectingRuntime('DEBUG');
const CONTROL_CLUSTER = 'enable-storm';
/** DEBUG output below this means the log channel was not really captured. */
const MIN_WORKER_LOG_BYTES = 100_000;

type Procedure = 'enable' | 'rotate' | 'retire' | 'disable' | 'switch-mode' | 'migrate-v2';

/** What a run left behind to show its faults fired: the rules' hit counts, the sandbox's answers, kmsflow's evidence. */
interface Observed {
  /** Hits of each rule the case added, in the order it added them. */
  hits: number[];
  /** How often the cluster's Kubernetes faults fired (continue-token expiry, write conflicts). */
  kubeHits: { expiredContinue: number; conflict: number };
  outcome: ProcedureOutcome;
  blocked?: BlockedReason & { step: string };
}

interface FaultCase {
  name: string;
  procedure: Procedure;
  /** Each fault kind injected, with how often the run met it; every one must be above zero. */
  faults: Record<string, (o: Observed) => number>;
  /** kmsflow's own counters that the faults must have moved (evidence of the re-encryption engine). */
  engine?: Record<string, (o: Observed) => number>;
  /** Sets the fault up (adding rules through `rules`); returns what clears it. */
  inject(rules: RuleRecorder): Promise<() => Promise<void>>;
  /** When the run must block (and on what); omitted: it must complete without blocking. */
  blocks?: { step: string | RegExp; code: RegExp; fix: RegExp; message?: RegExp };
  /** The run may block like this, or complete without blocking. */
  mayBlock?: boolean;
}

const SUBSCRIPTION = '11111111-2222-4333-8444-555555555555';
const CRYPTO_OFFICER = '14b46e9e-c2b7-41b4-b07b-48a6ebf60603';
const clusterPath = (name: string) => `/managedClusters/${name}$`;

let env: KmsflowTestEnv;

const armRule = (
  cluster: string,
  method: string,
  action: FaultRuleInput['action'],
  extra: Partial<FaultRuleInput> = {},
): FaultRuleInput => ({
  service: 'arm',
  method,
  path: clusterPath(cluster),
  action,
  ...extra,
});

type RuleRecorder = (...rules: FaultRuleInput[]) => () => Promise<void>;

/** Adds rules for a case, keeping their live state so their hit counts can be read after removal. */
function ruleRecorder(added: FaultRuleState[]): RuleRecorder {
  return (...rules) => {
    const states = rules.map((r) => env.sandbox.faults.addRule(r));
    added.push(...states);
    return async () => void states.forEach((state) => env.sandbox.faults.removeRule(state.id));
  };
}

const sumOver = (o: Observed, pick: (t: PassTotals) => number | undefined) =>
  o.outcome.evidence.reduce((n, e) => n + (pick(e.rewrite) ?? 0) + (pick(e.verify) ?? 0), 0);
const engineThrottled = (o: Observed) => sumOver(o, (t) => t.throttled);
const engineExpired = (o: Observed) => sumOver(o, (t) => t.expiredListings);
const engineConflicts = (o: Observed) => sumOver(o, (t) => t.conflicts);
const wasBlocked = (code: RegExp) => (o: Observed) => (o.blocked && code.test(o.blocked.code ?? '') ? 1 : 0);
const hit =
  (...indexes: number[]) =>
  (o: Observed) =>
    indexes.reduce((n, i) => n + (o.hits[i] ?? 0), 0);

const kube = (cluster: string) => env.sandbox.kubeCluster(cluster)!.kubeFaults;

const cases: FaultCase[] = [
  {
    name: 'enable-storm',
    procedure: 'enable',
    faults: { '429 storm': hit(0, 2), '5xx': hit(1) },
    engine: { 'Secret writes backed off (throttled)': engineThrottled },
    inject: async (rules) =>
      rules(
        {
          service: 'kube',
          cluster: 'enable-storm',
          method: 'PUT',
          probability: 0.2,
          action: { kind: 'throttle', retryAfterSeconds: 0 },
        },
        { service: 'kube', cluster: 'enable-storm', count: 5, action: { kind: 'error', status: 503 } },
        armRule('enable-storm', 'GET', { kind: 'throttle', retryAfterSeconds: 0 }, { probability: 0.3 }),
      ),
  },
  {
    name: 'enable-firewall',
    procedure: 'enable',
    faults: { 'firewall-blocked vault': wasBlocked(/PublicModeWithFirewall/) },
    inject: async () => {
      const vaults = env.sandbox.clients().keyVaultManagement.vaults;
      await vaults.update('rg-faults', 'kv-wall', {
        properties: { networkAcls: { defaultAction: 'Deny', bypass: 'AzureServices' } },
      });
      return async () =>
        void (await vaults.update('rg-faults', 'kv-wall', {
          properties: { networkAcls: { defaultAction: 'Allow', bypass: 'AzureServices' } },
        }));
    },
    blocks: { step: 'preflight', code: /PublicModeWithFirewall/, fix: /--default-action Allow/ },
  },
  {
    name: 'rotate-busy',
    procedure: 'rotate',
    faults: { '409 operation in progress': hit(0) },
    inject: async (rules) =>
      rules(armRule('rotate-busy', 'PUT', { kind: 'operationInProgress' }, { count: 3 })),
  },
  {
    name: 'rotate-keyoff',
    procedure: 'rotate',
    faults: { 'disabled key version': wasBlocked(/KeyDisabled/) },
    inject: async () => {
      const keys = env.sandbox.clients().keys('kv-faults');
      const version = (await env.keyVersions('kv-faults', 'rotate-keyoff'))[1]!.split('/').pop()!;
      await keys.updateKeyProperties('rotate-keyoff', version, { enabled: false });
      return async () => void (await keys.updateKeyProperties('rotate-keyoff', version, { enabled: true }));
    },
    blocks: { step: 'preflight', code: /KeyDisabled/, fix: /--enabled true/ },
  },
  {
    name: 'retire-vault-flaky',
    procedure: 'retire',
    faults: { '429 storm': hit(0), 'connection reset': hit(1) },
    inject: async (rules) =>
      rules(
        // A share of retire's few Key Vault calls could draw none (a nightly run met that); the first three throttled always fire.
        {
          service: 'keyvault',
          path: '/keys/retire-vault-flaky',
          count: 3,
          action: { kind: 'throttle', retryAfterSeconds: 0 },
        },
        { service: 'keyvault', path: '/keys/retire-vault-flaky', count: 2, action: { kind: 'reset' } },
      ),
  },
  {
    name: 'retire-norole',
    procedure: 'retire',
    faults: { 'missing Key Vault role': wasBlocked(/Forbidden/) },
    inject: async () => {
      const assignments = env.sandbox.clients().authorization.roleAssignments;
      const scope = env.vaultId('kv-rbac');
      const found: RoleAssignment[] = [];
      for await (const a of assignments.listForScope(scope)) {
        if (a.principalId === env.sandbox.operator.objectId && a.roleDefinitionId?.endsWith(CRYPTO_OFFICER))
          found.push(a);
      }
      expect(found).toHaveLength(1);
      await assignments.delete(scope, found[0]!.name!);
      return async () =>
        void (await assignments.create(scope, randomUUID(), {
          roleDefinitionId: found[0]!.roleDefinitionId!,
          principalId: env.sandbox.operator.objectId,
          principalType: 'User',
        }));
    },
    blocks: {
      step: 'new-version-2',
      code: /Forbidden/,
      message: /not authorized .+Microsoft\.KeyVault\/vaults\/keys\/read/,
      fix: /docs\/permissions\.md/,
    },
  },
  {
    name: 'disable-lro-failed',
    procedure: 'disable',
    faults: { 'LRO ending Failed': hit(0) },
    inject: async (rules) =>
      rules(
        armRule(
          'disable-lro-failed',
          'PUT',
          {
            kind: 'lroFailure',
            code: 'InternalOperationError',
            message: 'The update failed in the control plane.',
          },
          { count: 1 },
        ),
      ),
    blocks: { step: 'disable-kms', code: /InternalOperationError/, fix: /retry/i },
  },
  {
    name: 'disable-slow-410',
    procedure: 'disable',
    faults: { 'continue-token expiry': (o) => o.kubeHits.expiredContinue, 'slow responses': hit(0) },
    engine: { 'expired listings resumed': engineExpired },
    inject: async (rules) => {
      kube('disable-slow-410').expireContinueAfterPages = 2;
      const clear = rules({
        service: 'kube',
        cluster: 'disable-slow-410',
        action: { kind: 'latency', ms: 40 },
      });
      return async () => {
        delete kube('disable-slow-410').expireContinueAfterPages;
        await clear();
      };
    },
  },
  {
    name: 'switch-5xx',
    procedure: 'switch-mode',
    faults: { '5xx': hit(0, 2), 'connection reset': hit(1) },
    inject: async (rules) =>
      rules(
        armRule('switch-5xx', 'PUT', { kind: 'error', status: 500 }, { count: 2 }),
        armRule('switch-5xx', 'GET', { kind: 'reset' }, { count: 3 }),
        {
          service: 'arm',
          method: 'PATCH',
          path: '/vaults/kv-switch$',
          count: 1,
          action: { kind: 'error', status: 503 },
        },
      ),
  },
  {
    name: 'switch-conflicts',
    procedure: 'switch-mode',
    faults: { 'write conflicts': (o) => o.kubeHits.conflict },
    engine: { 'conflicting writes re-read and retried': engineConflicts },
    inject: async () => {
      kube('switch-conflicts').conflictShare = 0.3;
      return async () => void delete kube('switch-conflicts').conflictShare;
    },
    // A Secret that conflicts on five writes in a row is left to the operator: the pass is not proven and names it.
    blocks: { step: /^reencrypt-/, code: /NotProven/, message: /the object has been modified/, fix: /retry/ },
    mayBlock: true,
  },
  {
    name: 'migrate-slow-arm',
    procedure: 'migrate-v2',
    faults: { 'slow responses': hit(0), '429 storm': hit(1) },
    inject: async (rules) =>
      // A share of a handful of PUTs may draw none; the first three throttled is a storm every run meets.
      rules(
        armRule('migrate-slow-arm', 'GET', { kind: 'latency', ms: 250 }),
        armRule('migrate-slow-arm', 'PUT', { kind: 'throttle', retryAfterSeconds: 0 }, { count: 3 }),
      ),
  },
  {
    name: 'migrate-upgrade-failed',
    procedure: 'migrate-v2',
    faults: { 'LRO ending Failed': hit(0) },
    // The first upgrade hop's operation fails: the rule is added once the KMS disable before it was accepted.
    inject: async (rules) => {
      let clear: (() => Promise<void>) | undefined;
      const stop = env.sandbox.oplog.onRecord((e) => {
        if (
          clear ||
          e.method !== 'PUT' ||
          !e.path.endsWith('/migrate-upgrade-failed') ||
          !(e.detail ?? '').includes('kms disabled')
        )
          return;
        clear = rules(
          armRule(
            'migrate-upgrade-failed',
            'PUT',
            {
              kind: 'lroFailure',
              code: 'UpgradeFailed',
              message: 'Drain of node aks-nodepool1-0 did not complete.',
            },
            { count: 1 },
          ),
        );
      });
      return async () => {
        stop();
        await clear?.();
      };
    },
    blocks: { step: 'upgrade-1.27', code: /UpgradeFailed/, fix: /retry/i },
  },
];

const kms = (key: string, vault = 'kv-faults') => ({
  vault,
  key,
  version: 1,
  networkAccess: 'Public' as const,
});
const keyOf = (c: FaultCase) => c.name;

const scenario: ScenarioInput = {
  seed: 91,
  tenantId: '72f988bf-0000-4000-a000-00000000c0de',
  subscriptions: [{ id: SUBSCRIPTION, resourceGroups: [{ name: 'rg-faults', location: 'eastus' }] }],
  principals: [{ name: 'operator', type: 'User' }],
  operator: 'operator',
  identities: [{ name: 'id-kms' }],
  vaults: [
    {
      name: 'kv-faults',
      keys: cases
        .filter(
          (c) => !['enable-firewall', 'retire-norole', 'switch-5xx', 'switch-conflicts'].includes(c.name),
        )
        .map((c) => ({ name: keyOf(c), versions: 2 })),
    },
    { name: 'kv-wall', keys: [{ name: 'enable-firewall', versions: 1 }] },
    { name: 'kv-rbac', keys: [{ name: 'retire-norole', versions: 1 }] },
    { name: 'kv-switch', keys: [{ name: 'switch-5xx', versions: 1 }] },
    { name: 'kv-switch2', keys: [{ name: 'switch-conflicts', versions: 1 }] },
  ],
  roleAssignments: ['kv-faults', 'kv-wall', 'kv-rbac', 'kv-switch', 'kv-switch2'].flatMap((vault) => [
    { role: 'Key Vault Crypto Officer', principal: 'operator', scope: `vault:${vault}` },
    { role: 'Key Vault Crypto User', principal: 'id-kms', scope: `vault:${vault}` },
    { role: 'Key Vault Contributor', principal: 'id-kms', scope: `vault:${vault}` },
  ]),
  clusters: cases.map((c, i) => {
    const secrets = { count: 100, namespaces: 3, seed: 500 + i, maxBytes: 3000 };
    const base = { name: c.name, kubernetesVersion: '1.29', identity: 'id-kms', secrets };
    switch (c.procedure) {
      case 'enable':
        return base;
      case 'migrate-v2':
        return { ...base, kubernetesVersion: '1.26', kms: kms(keyOf(c)) };
      case 'switch-mode':
        return {
          ...base,
          apiServerVnetIntegration: true,
          kms: kms(keyOf(c), c.name === 'switch-5xx' ? 'kv-switch' : 'kv-switch2'),
        };
      case 'retire':
        return { ...base, kms: kms(keyOf(c), c.name === 'retire-norole' ? 'kv-rbac' : 'kv-faults') };
      default:
        return { ...base, kms: kms(keyOf(c)) };
    }
  }),
};

beforeAll(async () => {
  env = await startKmsflowEnv(scenario, { leakControlCluster: CONTROL_CLUSTER });
  await seedScanSecrets(
    env.sandbox,
    cases.map((c) => c.name),
  );
}, 120_000);

afterAll(async () => {
  await env?.teardown();
});

/** The workflow type and input of the case's procedure (read before the fault is injected). */
async function procedureInput(c: FaultCase): Promise<readonly [string, Record<string, unknown>]> {
  const clusterId = env.clusterId(c.name);
  const base = { clusterId, autoApprove: 'all', reencrypt: FAST_REENCRYPT, requestedBy: 'faults' };
  const vaultOf: Record<string, string> = {
    'enable-firewall': 'kv-wall',
    'switch-5xx': 'kv-switch',
    'switch-conflicts': 'kv-switch2',
  };
  const versions =
    c.procedure === 'enable' || c.procedure === 'rotate'
      ? await env.keyVersions(vaultOf[c.name] ?? 'kv-faults', keyOf(c))
      : [];
  return (
    {
      enable: ['enableKms', { ...base, keyId: versions[0], networkAccess: 'Public' }],
      rotate: ['rotateKey', { ...base, keyId: versions[1] }],
      retire: ['retireKey', base],
      disable: ['disableKms', base],
      'switch-mode': [
        'switchVaultMode',
        { ...base, to: 'Private', vaultResourceId: env.vaultId(vaultOf[c.name]!) },
      ],
      'migrate-v2': ['migrateToKmsV2', { ...base, targetVersion: '1.28' }],
    } as const
  )[c.procedure];
}

interface CaseOutcome {
  name: string;
  procedure: Procedure;
  blocked?: BlockedReason & { step: string };
  outcome: ProcedureOutcome;
  /** How often each injected fault kind was met, and the engine counters it moved. */
  observed: Record<string, number>;
  engine: Record<string, number>;
}

async function runCase(c: FaultCase): Promise<CaseOutcome> {
  const [type, input] = await procedureInput(c);
  const rules: FaultRuleState[] = [];
  const clear = await c.inject(ruleRecorder(rules));
  const handle: WorkflowHandle = await env.temporal.env.client.workflow.start(type, {
    taskQueue: env.taskQueue,
    workflowId: procedureWorkflowId(env.clusterId(c.name)),
    args: [input],
  });
  let blocked: CaseOutcome['blocked'];
  try {
    const settled = await waitUntil(
      () => handle.query(progressQuery),
      (p: ProcedureProgress) => p.phase === 'blocked' || p.phase === 'completed',
      {
        what: `${c.name} to complete or block`,
        timeoutMs: 150_000,
        intervalMs: 250,
      },
    );
    if (settled.phase === 'blocked') {
      const step = settled.steps.find((s) => s.id === settled.currentStep)!;
      blocked = { ...step.blocked!, step: step.id };
    }
  } finally {
    await clear();
  }
  if (blocked) await handle.executeUpdate(retryUpdate, { args: [{ requestedBy: 'faults' }] });
  const outcome = await resultWithin<ProcedureOutcome>(handle, 150_000);
  const seen: Observed = {
    hits: rules.map((r) => r.hits),
    kubeHits: { ...env.sandbox.kubeCluster(c.name)!.kubeFaultHits },
    outcome,
    blocked,
  };
  const measure = (of: Record<string, (o: Observed) => number> = {}) =>
    Object.fromEntries(Object.entries(of).map(([label, count]) => [label, count(seen)]));
  return {
    name: c.name,
    procedure: c.procedure,
    blocked,
    outcome,
    observed: measure(c.faults),
    engine: measure(c.engine),
  };
}

/** The key ARM now reports for the cluster; every Secret must be readable and stored under it. */
function misplacedSecrets(cluster: string): string[] {
  const record = env.sandbox.context.store.clusterByName(cluster)!;
  const keyId = record.appliedKms?.enabled ? record.appliedKms.keyId : undefined;
  return env.sandbox
    .kubeCluster(cluster)!
    .etcdView()
    .filter(
      (e) =>
        !e.readable ||
        (keyId ? e.provider.type !== 'kms-v2' || e.provider.keyId !== keyId : e.provider.type !== 'identity'),
    )
    .map((e) => `${cluster} ${e.namespace}/${e.name} ${e.provider.type}`);
}

it(
  'each procedure under each fault completes, or blocks with reason and fix and completes after retry; never proven with a stale Secret',
  async () => {
    const scan = new LeakScan(
      new LeakMatcher(
        await seededSecretValues(
          env.sandbox,
          cases.map((c) => c.name),
        ),
      ),
    );
    const started = Date.now();
    // The live views are polled while the procedures run; queries need a worker to answer.
    const { results, polls } = await env.withWorker(async () => {
      const live = pollLiveViews(env.temporal.env.client, scan, { extraQueries: LEAK_CONTROL_QUERIES });
      await env.runLeakControl();
      const results = await Promise.all(cases.map(runCase));
      return { results, ...(await live.stop()) };
    });
    const histories = await scanHistories(env.temporal.env.client, scan);
    scan.add('worker-log', workerLogs);
    const wallSeconds = Math.round((Date.now() - started) / 1000);

    for (const [i, r] of results.entries()) {
      const c = cases[i]!;
      if (c.blocks && (r.blocked || !c.mayBlock)) {
        expect(r.blocked, `${c.name} should block`).toBeDefined();
        expect(r.blocked!.step, c.name).toMatch(c.blocks.step);
        expect(r.blocked!.code ?? r.blocked!.message, c.name).toMatch(c.blocks.code);
        expect(r.blocked!.fix, `${c.name}: ${JSON.stringify(r.blocked)}`).toMatch(c.blocks.fix);
        if (c.blocks.message) expect(r.blocked!.message, c.name).toMatch(c.blocks.message);
      } else {
        expect(r.blocked, `${c.name} blocked: ${JSON.stringify(r.blocked)}`).toBeUndefined();
      }
      expect(r.outcome.outcome, c.name).toBe('completed');
      expect(r.outcome.evidence.length, c.name).toBeGreaterThan(0);
      // A pass that was not proven (and blocked) must be followed by a proven one for the same key after retry.
      const evidence = r.outcome.evidence;
      const redone = evidence.every(
        (e, j) =>
          e.proven ||
          evidence
            .slice(j + 1)
            .some((later) => later.proven && JSON.stringify(later.expect) === JSON.stringify(e.expect)),
      );
      expect(redone, c.name).toBe(true);
      expect(
        evidence
          .filter((e) => e.proven)
          .every((e) => e.verify.counts.stale === 0 && e.verify.counts.failed === 0),
        c.name,
      ).toBe(true);
      expect(evidence.at(-1)?.proven, c.name).toBe(true);
      expect(misplacedSecrets(c.name)).toEqual([]);
      // Every fault kind the case injects must have fired, and moved the engine counters it should.
      for (const [label, n] of [...Object.entries(r.observed), ...Object.entries(r.engine)])
        expect(n, `${c.name}: ${label}`).toBeGreaterThan(0);
    }
    expect(repeatedArmChanges(env.sandbox.oplog.entries())).toEqual([]);
    const keyTags = Object.values(env.sandbox.context.store.vaultByName('kv-faults')!.keys).flatMap(
      (k) => k.versions.map((v) => v.tags?.['kmsflow-operation']).filter(Boolean) as string[],
    );
    expect(duplicates(keyTags)).toEqual({});

    // No Secret value in any channel but the planted controls, each found in its own channel.
    expect(polls).toBeGreaterThan(10);
    expect(scan.summary()['worker-log']?.bytes ?? 0).toBeGreaterThan(MIN_WORKER_LOG_BYTES);
    const { found, expected, counts: scanFindings } = findingsByChannel(scan, plantedIds(CONTROL_CLUSTER));
    expect(found).toEqual(expected);

    const observedKinds = [
      ...new Set(results.flatMap((r) => Object.keys(r.observed).filter((k) => r.observed[k]! > 0))),
    ].sort();
    recordFigure('faults', {
      runs: results.length,
      faultKindsObserved: observedKinds,
      perRun: results.map((r) => ({
        run: r.name,
        procedure: r.procedure,
        faultsMet: r.observed,
        engineCounters: r.engine,
        blocked: r.blocked ? { step: r.blocked.step, code: r.blocked.code } : null,
      })),
      completedWithoutBlocking: results.filter((r) => !r.blocked).map((r) => r.name),
      blockedThenRetried: results
        .filter((r) => r.blocked)
        .map((r) => ({ run: r.name, step: r.blocked!.step, code: r.blocked!.code, fix: r.blocked!.fix })),
      provenWithStaleSecret: 0,
      secretsLost: 0,
      historyRunsScanned: histories.runs,
      historyEventsScanned: histories.events,
      liveViewPolls: polls,
      scanned: scan.summary(),
      scanFindings,
      wallSeconds,
    });
  },
  10 * 60_000,
);
