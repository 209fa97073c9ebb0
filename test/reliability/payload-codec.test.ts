// The payload codec: AES-256-GCM over every workflow payload, the key id in each payload's metadata. A
// procedure run by a worker process with the codec leaves only ciphertext in Temporal's history; the CLI and
// the codec endpoint (what the Web UI calls) read it back with the key.
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import type { Payload } from '@temporalio/common';
import { defaultPayloadConverter } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCodecServer } from '../../client/codec-server';
import type { ProcedureSnapshot } from '../../client/output/shapes';
import type { ScenarioInput } from '../../sandbox/scenario';
import {
  AesGcmPayloadCodec,
  codecKeyFromEnvironment,
  ENCRYPTED_ENCODING,
  KEY_ID_METADATA,
} from '../../temporal/payload-codec';
import { procedureWorkflowId } from '../../workflows/messages';
import type { ProcedureOutcome } from '../../workflows/procedures/common';
import { parseJson, runCli } from '../client/cli-harness';
import { FAST_REENCRYPT } from '../helpers/kmsflow-env';
import { type ChaosEnv, outcomeOf, startChaosEnv } from './chaos-env';
import { recordFigure } from './figures';
import { ALL_PATCHES } from '../../workflows/patches';
import {
  findingsByChannel,
  LeakMatcher,
  LeakScan,
  listRaw,
  scanHistories,
  seededSecretValues,
} from './secret-scan';

const KEY = randomBytes(32);
const CODEC_ENV = { KMSFLOW_CODEC_KEY: KEY.toString('base64'), KMSFLOW_CODEC_KEY_ID: 'kmsflow-test-2026' };
const codec = new AesGcmPayloadCodec([codecKeyFromEnvironment(CODEC_ENV)!]);
const text = (bytes: Uint8Array | null | undefined) =>
  Buffer.from(bytes ?? new Uint8Array()).toString('utf8');

describe('AesGcmPayloadCodec', () => {
  const plain = defaultPayloadConverter.toPayload({
    cluster: 'aks-1',
    keyId: 'https://kv.vault.azure.net/keys/k/1',
  });

  it('encrypts a payload, names its key and decodes it back', async () => {
    const [sealed] = await codec.encode([plain]);
    expect(text(sealed!.metadata!.encoding)).toBe(ENCRYPTED_ENCODING);
    expect(text(sealed!.metadata![KEY_ID_METADATA])).toBe('kmsflow-test-2026');
    expect(text(sealed!.data)).not.toContain('aks-1');
    const [opened] = await codec.decode([sealed!]);
    expect(defaultPayloadConverter.fromPayload(opened!)).toEqual({
      cluster: 'aks-1',
      keyId: 'https://kv.vault.azure.net/keys/k/1',
    });
    // Each encryption uses a fresh nonce.
    const [again] = await codec.encode([plain]);
    expect(Buffer.from(again!.data!).equals(Buffer.from(sealed!.data!))).toBe(false);
  });

  it('refuses a tampered payload and names a key it does not hold', async () => {
    const [sealed] = await codec.encode([plain]);
    const tampered: Payload = {
      ...sealed!,
      data: Buffer.from(sealed!.data!).map((b, i) => (i === 20 ? b ^ 1 : b)),
    };
    await expect(codec.decode([tampered])).rejects.toThrow(/unable to authenticate|auth/i);
    const other = new AesGcmPayloadCodec([{ keyId: 'other', key: randomBytes(32) }]);
    await expect(other.decode([sealed!])).rejects.toThrow(
      /encrypted with key "kmsflow-test-2026", which this process does not have/,
    );
    expect(await other.decode([plain])).toEqual([plain]);
  });

  it('reads its key from a file or the environment and rejects a key of the wrong size', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kmsflow-codec-'));
    const file = path.join(dir, 'codec.key');
    fs.writeFileSync(file, `${KEY.toString('base64')}\n`);
    expect(codecKeyFromEnvironment({ KMSFLOW_CODEC_KEY_FILE: file })).toEqual({
      key: KEY,
      keyId: expect.stringMatching(/^sha256-[0-9a-f]{16}$/),
    });
    expect(codecKeyFromEnvironment({})).toBeUndefined();
    expect(() => codecKeyFromEnvironment({ KMSFLOW_CODEC_KEY: randomBytes(16).toString('base64') })).toThrow(
      /must hold 32 bytes in base64/,
    );
    fs.rmSync(dir, { recursive: true, force: true });
  });
});

const scenario: ScenarioInput = {
  seed: 51,
  tenantId: '72f988bf-0000-4000-a000-00000000c0de',
  subscriptions: [
    {
      id: '11111111-2222-4333-8444-555555555555',
      resourceGroups: [{ name: 'rg-codec', location: 'eastus' }],
    },
  ],
  principals: [{ name: 'operator', type: 'User' }],
  operator: 'operator',
  identities: [{ name: 'id-kms' }],
  vaults: [{ name: 'kv-codec', keys: [{ name: 'kms', versions: 1 }] }],
  roleAssignments: [
    { role: 'Key Vault Crypto Officer', principal: 'operator', scope: 'vault:kv-codec' },
    { role: 'Key Vault Crypto User', principal: 'id-kms', scope: 'vault:kv-codec' },
  ],
  clusters: [
    {
      name: 'aks-codec',
      kubernetesVersion: '1.30',
      identity: 'id-kms',
      secrets: { count: 120, namespaces: 3, seed: 8, maxBytes: 4000 },
    },
  ],
};

describe('a procedure with the payload codec', () => {
  let env: ChaosEnv;
  let raw: Client;

  beforeAll(async () => {
    env = await startChaosEnv(scenario, {
      workerEnv: CODEC_ENV,
      clientDataConverter: { payloadCodecs: [codec] },
    });
    await env.startWorker();
    raw = new Client({
      connection: await Connection.connect({ address: env.devServer.address }),
      namespace: env.devServer.namespace,
    });
  }, 180_000);

  afterAll(async () => {
    await raw?.connection.close();
    await env?.teardown();
  });

  it('leaves only ciphertext in history, while the CLI and the codec endpoint read progress and inputs', async () => {
    const secrets = new LeakMatcher(await seededSecretValues(env.sandbox, ['aks-codec']));
    const clusterId = env.clusterId('aks-codec');
    const record = env.sandbox.context.store.vaultByName('kv-codec')!.keys.kms!.versions[0]!;
    const keyId = `${env.sandbox.vaultUrl('kv-codec')}/keys/kms/${record.version}`;
    const handle = await env.client.workflow.start('enableKms', {
      taskQueue: env.taskQueue,
      workflowId: procedureWorkflowId(clusterId),
      args: [{ clusterId, keyId, networkAccess: 'Public', autoApprove: 'all', reencrypt: FAST_REENCRYPT }],
      memo: { requestedBy: 'codec-test' },
    });
    const outcome = await outcomeOf<ProcedureOutcome>(handle, 120_000);
    expect(outcome.outcome).toBe('completed');
    expect(outcome.evidence[0]?.proven).toBe(true);

    // Raw history, read without the key: every payload is sealed, none shows the input or the progress.
    const scan = new LeakScan(secrets);
    const histories = await scanHistories(raw, scan);
    expect(histories.runs).toBeGreaterThanOrEqual(3);
    scan.add('worker-log', env.workerOutput());
    expect(findingsByChannel(scan).found).toEqual(findingsByChannel(scan).expected);
    const payloads: Payload[] = [];
    for (const execution of await listRaw(raw)) {
      collectPayloads(
        await raw.workflow.getHandle(execution.workflowId, execution.runId).fetchHistory(),
        payloads,
      );
    }
    expect(payloads.length).toBeGreaterThan(50);
    // Search attributes stay readable by design (Temporal indexes them): cluster name, procedure, phase, step,
    // and the SDK's TemporalChangeVersion, which lists the patch ids (workflow code versions) a run went through.
    const where = (p: Payload) => (p as { where?: string }).where ?? '';
    const indexed = payloads.filter((p) => where(p).includes('.searchAttributes.indexedFields.'));
    expect(new Set(indexed.map((p) => where(p).split('.').pop()))).toEqual(
      new Set(['KmsCluster', 'KmsProcedure', 'KmsPhase', 'KmsStep', 'TemporalChangeVersion']),
    );
    const patchIds: readonly string[] = ALL_PATCHES;
    const changeVersions = indexed
      .filter((p) => where(p).endsWith('.TemporalChangeVersion'))
      .map((p) => text(p.data));
    for (const v of changeVersions)
      for (const id of JSON.parse(v) as string[]) expect(patchIds).toContain(id);
    // Patch markers (workflow code versions) are written by the SDK's core, not through the codec: they hold a
    // patch id and nothing else, and must stay that way.
    const patchMarkers = payloads.filter((p) =>
      where(p).includes('markerRecordedEventAttributes.details.patch-data'),
    );
    for (const p of patchMarkers) expect(patchIds).toContain((JSON.parse(text(p.data)) as { id: string }).id);
    const sealed = payloads.filter((p) => !indexed.includes(p) && !patchMarkers.includes(p));
    const unsealed = sealed.filter((p) => text(p.metadata?.encoding) !== ENCRYPTED_ENCODING);
    expect(unsealed.map((p) => `${where(p)}: ${text(p.data)}`)).toEqual([]);
    expect(sealed.every((p) => text(p.metadata?.[KEY_ID_METADATA]) === 'kmsflow-test-2026')).toBe(true);
    // What the procedure's payloads carry in plain text (its input, memo, progress) is not in the raw history either.
    const plainScan = new LeakScan(
      new LeakMatcher(
        [keyId, '"pageSize"', 'codec-test', 'rewritten'].map((text) => ({
          id: text,
          bytes: Buffer.from(text),
        })),
      ),
    );
    await scanHistories(raw, plainScan);
    expect(plainScan.found('history')).toEqual([]);

    // The CLI decodes with the key from the environment, as operators run it.
    const cli = (argv: string[]) =>
      runCli([...argv, '--address', env.devServer.address, '--namespace', env.devServer.namespace]);
    process.env.KMSFLOW_CODEC_KEY = CODEC_ENV.KMSFLOW_CODEC_KEY;
    process.env.KMSFLOW_CODEC_KEY_ID = CODEC_ENV.KMSFLOW_CODEC_KEY_ID;
    try {
      const status = await cli(['status', handle.workflowId, '--json']);
      expect(status.stderr).toBe('');
      const snapshot = parseJson<ProcedureSnapshot>(status.stdout);
      expect(snapshot).toMatchObject({ workflowId: handle.workflowId, phase: 'completed' });
    } finally {
      delete process.env.KMSFLOW_CODEC_KEY;
      delete process.env.KMSFLOW_CODEC_KEY_ID;
    }
    const blind = await cli(['status', handle.workflowId, '--json']);
    expect(blind.code).not.toBe(0);

    // The codec endpoint, as the Web UI calls it from its origin.
    const server = await startCodecServer({ codec, allowedOrigins: ['http://127.0.0.1:8233'] });
    try {
      const preflight = await fetch(`${server.url}/decode`, {
        method: 'OPTIONS',
        headers: { Origin: 'http://127.0.0.1:8233', 'Access-Control-Request-Method': 'POST' },
      });
      expect(preflight.status).toBe(204);
      expect(preflight.headers.get('access-control-allow-origin')).toBe('http://127.0.0.1:8233');
      expect(preflight.headers.get('access-control-allow-headers')).toContain('X-Namespace');
      const stranger = await fetch(`${server.url}/decode`, {
        method: 'OPTIONS',
        headers: { Origin: 'http://evil.example' },
      });
      expect(stranger.headers.get('access-control-allow-origin')).toBeNull();
      // Without any origin named, no page may call it from a browser.
      const closed = await startCodecServer({ codec, allowedOrigins: [] });
      try {
        const refused = await fetch(`${closed.url}/decode`, {
          method: 'OPTIONS',
          headers: { Origin: 'http://127.0.0.1:8233', 'Access-Control-Request-Method': 'POST' },
        });
        expect(refused.headers.get('access-control-allow-origin')).toBeNull();
      } finally {
        await closed.close();
      }

      const toJson = (p: Payload) => ({
        metadata: Object.fromEntries(
          Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v!).toString('base64')]),
        ),
        data: Buffer.from(p.data ?? new Uint8Array()).toString('base64'),
      });
      const response = await fetch(`${server.url}/decode`, {
        method: 'POST',
        headers: {
          'Content-Type': 'application/json',
          'X-Namespace': 'default',
          Origin: 'http://127.0.0.1:8233',
        },
        body: JSON.stringify({ payloads: sealed.map(toJson) }),
      });
      expect(response.status).toBe(200);
      const decoded = (await response.json()) as {
        payloads: { metadata: Record<string, string>; data: string }[];
      };
      expect(decoded.payloads).toHaveLength(sealed.length);
      const plainText = decoded.payloads
        .map((p) => Buffer.from(p.data, 'base64').toString('utf8'))
        .join('\n');
      expect(plainText).toContain(keyId);
      expect(plainText).toContain('"pageSize"');
      expect(
        decoded.payloads.every(
          (p) => Buffer.from(p.metadata.encoding!, 'base64').toString() !== ENCRYPTED_ENCODING,
        ),
      ).toBe(true);
      const decodedScan = new LeakScan(secrets);
      decodedScan.add('history', decoded.payloads);
      expect(decodedScan.found('history')).toEqual([]);

      recordFigure('payload-codec', {
        runsScanned: histories.runs,
        payloadsInHistory: payloads.length,
        searchAttributePayloads: indexed.length,
        payloadsUnencrypted: unsealed.length,
        decodedByEndpoint: decoded.payloads.length,
        historyHits: scan.found('history').length,
      });
    } finally {
      await server.close();
    }
  }, 180_000);
});

/** Every Payload (an object with `metadata` and `data`) anywhere in a history. */
function collectPayloads(value: unknown, out: Payload[], where = ''): Payload[] {
  if (!value || typeof value !== 'object' || value instanceof Uint8Array) return out;
  if (Array.isArray(value)) {
    for (const item of value) collectPayloads(item, out, where);
    return out;
  }
  const record = value as Record<string, unknown>;
  if (
    'metadata' in record &&
    'data' in record &&
    (record.data instanceof Uint8Array || record.data === null)
  ) {
    out.push(Object.assign(record as Payload, { where }));
    return out;
  }
  for (const [key, item] of Object.entries(record))
    collectPayloads(item, out, `${where}.${key}`.replace(/^\.events\./, ''));
  return out;
}
