// The campaign rules an operator meets before anything starts: how a stage is written, which stage lists
// are refused and why, how clusters fall into stages, and which clusters a selection names.
import { describe, expect, it } from 'vitest';
import {
  allowanceOf,
  assignStages,
  busyInArm,
  checkStages,
  concurrencyOf,
  formCampaign,
  outcomeOfProcedure,
  parseBudget,
  parseStage,
  selects,
  type SelectedCluster,
} from '../../model/campaign';

const cluster = (name: string, extra: Partial<SelectedCluster> = {}): SelectedCluster => ({
  clusterId: `/subscriptions/s/resourceGroups/rg-a/providers/Microsoft.ContainerService/managedClusters/${name}`,
  name,
  resourceGroup: 'rg-a',
  tags: { env: 'prod' },
  kmsEnabled: true,
  keyId: 'https://kv.vault.azure.net/keys/k/1',
  provisioningState: 'Succeeded',
  ...extra,
});

describe('stages', () => {
  it('reads a stage written on the command line', () => {
    expect(parseStage('canary size=1 soak=10m')).toEqual({
      name: 'canary',
      size: 1,
      maxConcurrency: 1,
      soakSeconds: 600,
      approval: false,
    });
    expect(parseStage('wave size=25% concurrency=10% approval')).toEqual({
      name: 'wave',
      size: { percent: 25 },
      maxConcurrency: { percent: 10 },
      soakSeconds: 0,
      approval: true,
    });
    expect(parseStage('rest')).toMatchObject({ size: 'rest', maxConcurrency: 1 });
  });

  it.each([
    ['size=1', /has no name/],
    ['wave size=0', /size=0 must be a whole number of at least 1/],
    ['wave size=150%', /between 1% and 100%/],
    ['wave soak=10', /soak=10 must be a duration/],
    ['wave paralel=3', /unknown option "paralel=3"/],
  ])('refuses %s with a sentence naming the fix', (spec, message) => {
    expect(() => parseStage(spec)).toThrow(message);
  });

  it('refuses stage lists that would leave clusters out or are ambiguous', () => {
    expect(() => checkStages([])).toThrow(/at least one stage/);
    expect(() => checkStages([parseStage('canary size=1')])).toThrow(/must take the rest/);
    expect(() => checkStages([parseStage('a'), parseStage('b')])).toThrow(
      /takes the rest but is not the last/,
    );
    expect(() => checkStages([parseStage('a size=1'), parseStage('a')])).toThrow(/Two stages are named "a"/);
    expect(() => checkStages([parseStage('canary size=1'), parseStage('rest')])).not.toThrow();
  });

  it('gives a group stage its Fleet Manager update group, and the other stages what is left', () => {
    const clusters = [
      { id: 'a', group: 'canary' },
      { id: 'b' },
      { id: 'c', group: 'canary' },
      { id: 'd', group: 'eu' },
      { id: 'e' },
    ];
    const stages = [parseStage('canary group=canary'), parseStage('first size=1'), parseStage('rest')];
    expect(() => checkStages(stages)).not.toThrow();
    expect(assignStages(clusters, stages, (c) => c.group).map((s) => s.map((c) => c.id))).toEqual([
      ['a', 'c'],
      ['b'],
      ['d', 'e'],
    ]);
    expect(parseStage('eu group=eu concurrency=2')).toMatchObject({ group: 'eu', maxConcurrency: 2 });
    expect(() => parseStage('eu group=eu size=3')).toThrow(/a group stage takes the group's clusters/);
    expect(() => checkStages([parseStage('rest size=1'), parseStage('eu group=eu')])).toThrow(
      /must take the rest/,
    );
  });

  it('puts clusters into stages by count, share (rounded up) and rest, and never past the end', () => {
    const ids = Array.from({ length: 10 }, (_, i) => i);
    expect(assignStages(ids, [parseStage('c size=1'), parseStage('w size=25%'), parseStage('r')])).toEqual([
      [0],
      [1, 2, 3],
      [4, 5, 6, 7, 8, 9],
    ]);
    expect(assignStages([0, 1], [parseStage('c size=5'), parseStage('r')])).toEqual([[0, 1], []]);
    expect(concurrencyOf(parseStage('r concurrency=10%'), 5)).toBe(1);
    expect(concurrencyOf(parseStage('r concurrency=50%'), 10)).toBe(5);
  });
});

describe('selection', () => {
  it('matches resource group and every tag, and a list of clusters case-insensitively', () => {
    expect(selects({ subscriptions: ['s'], tags: { env: 'prod' } }, cluster('a'))).toBe(true);
    expect(selects({ subscriptions: ['s'], tags: { env: 'prod', tier: 'gold' } }, cluster('a'))).toBe(false);
    expect(selects({ subscriptions: ['s'], resourceGroup: 'RG-A' }, cluster('a'))).toBe(true);
    expect(selects({ subscriptions: ['s'], resourceGroup: 'rg-b' }, cluster('a'))).toBe(false);
    expect(
      selects({ subscriptions: [], clusterIds: [cluster('a').clusterId.toUpperCase()] }, cluster('a')),
    ).toBe(true);
    expect(selects({ subscriptions: [], clusterIds: [cluster('b').clusterId] }, cluster('a'))).toBe(false);
  });

  it('skips clusters the procedure does not apply to, with the reason, before forming stages', () => {
    const { members, stageSizes } = formCampaign(
      'rotate-key',
      [
        cluster('a'),
        cluster('b', { kmsEnabled: false, keyId: undefined }),
        cluster('c', { provisioningState: 'Failed' }),
        cluster('d'),
        cluster('e', { provisioningState: 'Updating' }),
      ],
      [parseStage('canary size=1'), parseStage('rest')],
    );
    expect(members.map((m) => [m.name, m.stage, m.skipReason ?? null])).toEqual([
      ['a', 'canary', null],
      ['b', null, 'KMS is off: there is no key to rotate'],
      [
        'c',
        null,
        'ARM reports the cluster Failed: it takes a procedure once Succeeded (az aks update reconciles it)',
      ],
      ['d', 'rest', null],
      // An operation running is a wait at the cluster's turn, not a reason to leave it out.
      ['e', 'rest', null],
    ]);
    expect(stageSizes).toEqual([1, 2]);
  });

  it('waits for a stopped cluster and one with an ARM operation running, never for a settled one', () => {
    expect(busyInArm({ provisioningState: 'Succeeded', powerState: 'Stopped' })).toMatch(/^stopped: /);
    expect(busyInArm({ provisioningState: 'Updating', powerState: 'Running' })).toBe(
      'ARM reports the cluster Updating: an operation runs on it',
    );
    for (const state of ['Succeeded', 'Failed', 'Canceled'])
      expect(busyInArm({ provisioningState: state, powerState: 'Running' })).toBeUndefined();
  });
});

describe('error budget', () => {
  it('reads a count or a share, and refuses anything else with the fix', () => {
    expect(parseBudget('2', '--max-failures')).toEqual({ maxFailures: 2 });
    expect(parseBudget('5%', '--max-failures')).toEqual({ maxFailures: 0, percent: 5 });
    for (const bad of ['-1', '5x', '101%', ''])
      expect(() => parseBudget(bad, '--max-failures')).toThrow(
        /a number of clusters \(2\) or a share of them \(5%\)/,
      );
  });

  it('resolves a share against the clusters selected, rounding down', () => {
    expect(allowanceOf({ maxFailures: 3 }, 1000)).toBe(3);
    expect(allowanceOf({ maxFailures: 0, percent: 5 }, 5000)).toBe(250);
    expect(allowanceOf({ maxFailures: 0, percent: 5 }, 19)).toBe(0);
  });

  it('reads the stage options of gates after the soak and a budget of its own', () => {
    expect(parseStage('wave size=10% approval=after max-failures=1')).toMatchObject({
      approval: false,
      approvalAfter: true,
      maxFailures: { maxFailures: 1 },
    });
    expect(parseStage('wave approval=both')).toMatchObject({ approval: true, approvalAfter: true });
    expect(() => parseStage('wave approval=never')).toThrow(/approval\[=before\|after\|both\]/);
  });

  it('runs several Fleet Manager update groups in one stage', () => {
    const groups: Record<string, string> = { a: 'g1', b: 'g2', c: 'g3', d: 'g1' };
    const stages = [parseStage('first group=g1,g2'), parseStage('rest')];
    expect(assignStages(['a', 'b', 'c', 'd'], stages, (c) => groups[c])).toEqual([['a', 'b', 'd'], ['c']]);
  });
});

describe('procedure outcomes', () => {
  it('is proven only when the procedure re-encrypted and every re-encryption proved itself', () => {
    const proven = { proven: true, notProven: [] };
    expect(outcomeOfProcedure({ outcome: 'completed', evidence: [proven] })).toEqual({ status: 'proven' });
    expect(outcomeOfProcedure({ outcome: 'completed', evidence: [] })).toEqual({
      status: 'not-proven',
      reason: 'the procedure proved no re-encryption',
    });
    expect(
      outcomeOfProcedure({
        outcome: 'completed',
        evidence: [proven, { proven: false, notProven: ['3 left.'] }],
      }),
    ).toEqual({ status: 'not-proven', reason: '3 left.' });
    expect(outcomeOfProcedure({ outcome: 'cancelled', evidence: [proven] }).status).toBe('cancelled');
  });
});
