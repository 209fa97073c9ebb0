import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClusterInspection, SandboxOverview } from '../../sandbox/inspect';
import { sandboxFaultsCommand, sandboxInspectCommand, sandboxStartCommand } from '../../sandbox/main';
import type { RunningSandbox } from '../../sandbox/sandbox';

let sb: RunningSandbox;
let dir: string;
let envFile: string;
const started: string[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'kmsflow-main-'));
  envFile = join(dir, 'sandbox.env');
  sb = await sandboxStartCommand({
    scenario: 'demo',
    envFile,
    operationDurationMs: 200,
    print: (l) => started.push(l),
  });
}, 120_000);
afterAll(async () => {
  await sb?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('sandbox entry points with the built-in demo scenario', () => {
  it('start prints the endpoints', () => {
    expect(started[0]).toBe(`kmsflow sandbox listening on 127.0.0.1:${sb.port}`);
    expect(started.join('\n')).toContain(`https://management.azure.com:${sb.port}`);
    expect(started.join('\n')).toContain(`https://kv-kmsflow-demo.vault.azure.net:${sb.port}`);
    expect(started.join('\n')).toContain('aks-legacy, aks-modern');
  });

  it('the demo has a 1.26 KMS v1 cluster with ~3,000 Secrets and a 1.29 KMS v2 cluster', async () => {
    const lines: string[] = [];
    await sandboxInspectCommand({ envFile, json: true, print: (l) => lines.push(l) });
    const overview = JSON.parse(lines.join('\n')) as SandboxOverview;
    expect(overview.clusters.map((c) => [c.name, c.kubernetesVersion, c.secrets])).toEqual([
      ['aks-legacy', '1.26.15', 3000],
      ['aks-modern', '1.29.14', 800],
    ]);
    expect(sb.kubeCluster('aks-legacy')!.getEncryption().write.type).toBe('kms-v1');
    expect(sb.kubeCluster('aks-modern')!.getEncryption().write.type).toBe('kms-v2');
    expect(overview.vaults[0]?.keys.map((k) => [k.name, k.versions.length, k.versions[0]?.kty])).toEqual([
      ['kms-key', 2, 'RSA'],
      ['ec-key', 1, 'EC'],
    ]);
    expect(overview.roleAssignments).toHaveLength(3);
  });

  it('inspect prints a cluster table (human) and the etcd summary (json)', async () => {
    const human: string[] = [];
    await sandboxInspectCommand({ envFile, cluster: 'aks-legacy', print: (l) => human.push(l) });
    const text = human.join('\n');
    expect(text).toContain('Cluster aks-legacy  Succeeded');
    expect(text).toMatch(/etcd\s+3000 Secrets/);
    expect(text).toMatch(/kms-v1:kv-kmsflow-demo\/kms-key\/[0-9a-f]{8}\s+3000/);

    const json: string[] = [];
    await sandboxInspectCommand({ envFile, cluster: 'aks-modern', json: true, print: (l) => json.push(l) });
    const c = JSON.parse(json.join('\n')) as ClusterInspection;
    expect(c.etcd?.total).toBe(800);
    expect(c.keySlots.current).toBe(c.kms?.keyId);
  });

  it('faults command adds, lists and clears rules on the running sandbox', async () => {
    const quiet = () => undefined;
    await sandboxFaultsCommand({
      envFile,
      action: 'add',
      spec: JSON.stringify({ id: 'slow', service: 'kube', action: { kind: 'latency', ms: 5 } }),
      print: quiet,
    });
    expect(sb.faults.list().map((r) => r.id)).toEqual(['slow']);
    await sandboxFaultsCommand({
      envFile,
      action: 'kube',
      cluster: 'aks-legacy',
      spec: JSON.stringify({ conflictShare: 0.1 }),
      print: quiet,
    });
    expect(sb.kubeCluster('aks-legacy')!.kubeFaults.conflictShare).toBe(0.1);
    await sandboxFaultsCommand({ envFile, action: 'clear', print: quiet });
    expect(sb.faults.list()).toEqual([]);
  });
});
