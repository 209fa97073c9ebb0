/**
 * Contender (c): the same work as the engine (a rewrite pass, then a verification pass: list pages,
 * no-op PUT every Secret, compare resourceVersions) with no Temporal, in its own process. Two kinds:
 *  - `pool`: keep-alive HTTPS connections and a pool of `concurrency` requests in flight per page,
 *    plain JSON: the practical limit of this API server with this concurrency;
 *  - `page-activity`: the engine's own page logic (`processPage` over its Secrets client) called in a
 *    loop outside Temporal, to separate the cost of Temporal from the cost of the activity code.
 */
import { Agent, request } from 'node:https';
import { KubeConfig } from '@kubernetes/client-node';
import { kubernetesClientsFor } from '../../activities/clients';
import type { SecretsApi } from '../../activities/reencrypt/secrets-json';
import { MARKER_NAMESPACE, writeMarker } from '../../activities/reencrypt/markers';
import { processPage } from '../../activities/reencrypt/page';
import {
  emptyCounts,
  type OutcomeCounts,
  type PageResult,
  type PassKind,
} from '../../activities/reencrypt/types';
import { isChild, serveRequests } from './child-process';

export type RawClientKind = 'pool' | 'page-activity';

export interface RawClientRequest {
  kind: RawClientKind;
  kubeconfig: string;
  concurrency: number;
  pageSize: number;
  /** Only `page-activity` uses it: the engine's QPS budget per page. */
  maxQps: number;
}

export interface RawPass {
  ms: number;
  objects: number;
  counts: OutcomeCounts;
  requests: number;
}

export interface RawClientResult {
  rewrite: RawPass;
  verify: RawPass;
}

interface ListedSecret {
  metadata: { name: string; namespace: string; resourceVersion: string };
}

interface Target {
  server: URL;
  ca: string;
  token: string;
}

function targetOf(kubeconfig: string): Target {
  const kc = new KubeConfig();
  kc.loadFromString(kubeconfig);
  const cluster = kc.getCurrentCluster();
  const user = kc.getCurrentUser();
  if (!cluster?.caData || !user?.token)
    throw new Error('the benchmark kubeconfig needs certificate-authority-data and a token');
  return {
    server: new URL(cluster.server),
    ca: Buffer.from(cluster.caData, 'base64').toString('utf8'),
    token: user.token,
  };
}

function call(
  target: Target,
  agent: Agent,
  method: string,
  path: string,
  body?: string,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | number> = {
      Authorization: `Bearer ${target.token}`,
      Accept: 'application/json',
    };
    if (body !== undefined)
      Object.assign(headers, {
        'Content-Type': 'application/json',
        'Content-Length': Buffer.byteLength(body),
      });
    const req = request(
      {
        host: target.server.hostname,
        port: target.server.port,
        method,
        path: `${target.server.pathname.replace(/\/$/, '')}${path}`,
        agent,
        ca: target.ca,
        headers,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

async function poolPass(
  target: Target,
  agent: Agent,
  pass: PassKind,
  watermark: bigint,
  concurrency: number,
  pageSize: number,
): Promise<RawPass> {
  const counts = emptyCounts();
  let requests = 0;
  let objects = 0;
  let token = '';
  const t0 = performance.now();
  do {
    const listed = await call(
      target,
      agent,
      'GET',
      `/api/v1/secrets?limit=${pageSize}${token ? `&continue=${encodeURIComponent(token)}` : ''}`,
    );
    requests++;
    if (listed.status !== 200) throw new Error(`list answered ${listed.status}`);
    const page = JSON.parse(listed.body) as { items: ListedSecret[]; metadata: { continue?: string } };
    token = page.metadata.continue ?? '';
    objects += page.items.length;
    let next = 0;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < page.items.length) {
          const secret = page.items[next++]!;
          const { name, namespace, resourceVersion } = secret.metadata;
          // As the engine does: a Secret written after the watermark is already under the new key.
          if (BigInt(resourceVersion) > watermark) {
            counts.newerThanWatermark++;
            continue;
          }
          const res = await call(
            target,
            agent,
            'PUT',
            `/api/v1/namespaces/${namespace}/secrets/${name}`,
            JSON.stringify({ apiVersion: 'v1', kind: 'Secret', ...secret }),
          );
          requests++;
          if (res.status !== 200) {
            counts.failed++;
            continue;
          }
          const unchanged =
            (JSON.parse(res.body) as ListedSecret).metadata.resourceVersion === resourceVersion;
          counts[unchanged ? 'alreadyCurrent' : pass === 'rewrite' ? 'rewritten' : 'stale']++;
        }
      }),
    );
  } while (token);
  return { ms: performance.now() - t0, objects, counts, requests };
}

async function pageActivityPass(
  secrets: SecretsApi,
  pass: PassKind,
  watermark: string,
  req: RawClientRequest,
): Promise<RawPass> {
  const counts = emptyCounts();
  let objects = 0;
  let pages = 0;
  let token: string | undefined;
  let digest = '0'.repeat(64);
  const t0 = performance.now();
  do {
    const page: PageResult = await processPage(
      secrets,
      {
        clusterId: 'bench',
        pass,
        continueToken: token,
        pageSize: req.pageSize,
        watermark,
        concurrency: req.concurrency,
        maxQps: req.maxQps,
        digest,
      },
      { resumed: undefined, beat: () => undefined, signal: new AbortController().signal },
    );
    if (page.expired) throw new Error('the listing expired (410) in the page-activity loop');
    pages++;
    objects += page.items;
    digest = page.digest;
    for (const [k, n] of Object.entries(page.counts)) counts[k as keyof OutcomeCounts] += n;
    token = page.nextToken;
  } while (token);
  return { ms: performance.now() - t0, objects, counts, requests: objects + pages };
}

/**
 * A fresh Secret written after the key change; its resourceVersion splits "to rewrite" from "already
 * current". In kmsflow's namespace, created when missing, as the engine writes its own.
 */
async function writeWatermark(target: Target, agent: Agent): Promise<bigint> {
  const namespace = JSON.stringify({
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name: MARKER_NAMESPACE },
  });
  const created = await call(target, agent, 'POST', '/api/v1/namespaces', namespace);
  if (created.status !== 201 && created.status !== 409)
    throw new Error(`creating namespace ${MARKER_NAMESPACE} answered ${created.status}`);
  const body = JSON.stringify({
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: `bench-watermark-${Date.now()}`, namespace: MARKER_NAMESPACE },
    type: 'Opaque',
    data: {},
  });
  const res = await call(target, agent, 'POST', `/api/v1/namespaces/${MARKER_NAMESPACE}/secrets`, body);
  if (res.status !== 201)
    throw new Error(`writing the watermark answered ${res.status}: ${res.body.slice(0, 200)}`);
  return BigInt((JSON.parse(res.body) as ListedSecret).metadata.resourceVersion);
}

export async function runRawClient(req: RawClientRequest): Promise<RawClientResult> {
  if (req.kind === 'pool') {
    const target = targetOf(req.kubeconfig);
    const agent = new Agent({ keepAlive: true, maxSockets: req.concurrency });
    try {
      const watermark = await writeWatermark(target, agent);
      const rewrite = await poolPass(target, agent, 'rewrite', watermark, req.concurrency, req.pageSize);
      const verify = await poolPass(target, agent, 'verify', watermark, req.concurrency, req.pageSize);
      return { rewrite, verify };
    } finally {
      agent.destroy();
    }
  }
  const kc = new KubeConfig();
  kc.loadFromString(req.kubeconfig);
  const clients = kubernetesClientsFor(kc);
  const watermark = (await writeMarker(clients.core, 'kmsflow-watermark', `bench-${Date.now()}`))
    .resourceVersion;
  const rewrite = await pageActivityPass(clients.secrets, 'rewrite', watermark, req);
  const verify = await pageActivityPass(clients.secrets, 'verify', watermark, req);
  return { rewrite, verify };
}

if (isChild()) serveRequests({ run: runRawClient });
