/**
 * Diagnostic: what one no-op PUT costs through the Kubernetes client the activities use, against the
 * same PUT over one keep-alive connection pool. Seeds a sandbox (own process), rotates the key, then
 * sends the same page of no-op updates with `concurrency` in flight through:
 *  - client-node as `activities/clients.ts` builds it (KubeConfig → CoreV1Api),
 *  - client-node with its agent replaced by one shared keep-alive agent,
 *  - plain node:https with a keep-alive agent.
 * and counts TLS handshakes the client process made for each.
 *
 *   npm run bench -- client-overhead [--secrets 1000] [--concurrency 16]
 */
import { Agent, request } from 'node:https';
import { createRequire } from 'node:module';
import type * as Tls from 'node:tls';
import { CoreV1Api, KubeConfig, type V1Secret } from '@kubernetes/client-node';
import { startChild, type BenchChild } from './child-process';
import type { EstateRequest, SandboxInfo } from './sandbox-process';

// The real module object (not an import copy), so every TLS connection made by any agent is counted.
const tlsModule = createRequire(__filename)('node:tls') as typeof Tls;
let handshakes = 0;
const connect = tlsModule.connect;
tlsModule.connect = ((...args: Parameters<typeof connect>) => {
  handshakes++;
  return connect(...args);
}) as typeof connect;

type SandboxChild = BenchChild<{
  start(e: EstateRequest): Promise<SandboxInfo>;
  rotate(_: undefined): Promise<void>;
}>;

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};

async function pool<T>(items: T[], concurrency: number, fn: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}

export async function main(): Promise<void> {
  const secrets = arg('secrets', 1000);
  const concurrency = arg('concurrency', 16);
  const sandbox: SandboxChild = startChild(`${__dirname}/sandbox-process.ts`);
  try {
    const info = await sandbox.call('start', { secrets, namespaces: 10, seed: 42, apiServer: 'emulated' });
    await sandbox.call('rotate', undefined);
    const kc = new KubeConfig();
    kc.loadFromString(info.kubeconfig);
    const ca = Buffer.from(kc.getCurrentCluster()!.caData!, 'base64');
    const token = kc.getCurrentUser()!.token!;
    const server = new URL(kc.getCurrentCluster()!.server);
    const lister = kc.makeApiClient(CoreV1Api);
    const listAll = async () => {
      const items: V1Secret[] = [];
      let next: string | undefined;
      do {
        const page = await lister.listSecretForAllNamespaces({ limit: 500, _continue: next });
        items.push(...page.items);
        next = page.metadata?._continue || undefined;
      } while (next);
      return items;
    };

    const viaClientNode = (shared?: Agent) => {
      const config = new KubeConfig();
      config.loadFromString(info.kubeconfig);
      if (shared) (config as unknown as { createAgent(): Agent }).createAgent = () => shared;
      const core = config.makeApiClient(CoreV1Api);
      return (s: V1Secret) =>
        core.replaceNamespacedSecret({
          name: s.metadata!.name!,
          namespace: s.metadata!.namespace!,
          body: { ...s, apiVersion: 'v1', kind: 'Secret' },
        });
    };
    const plain = new Agent({ keepAlive: true, maxSockets: concurrency, ca });
    const viaHttps = (s: V1Secret) =>
      new Promise<void>((resolve, reject) => {
        const body = JSON.stringify({ ...s, apiVersion: 'v1', kind: 'Secret' });
        const req = request(
          {
            host: server.hostname,
            port: server.port,
            method: 'PUT',
            path: `${server.pathname}/api/v1/namespaces/${s.metadata!.namespace}/secrets/${s.metadata!.name}`,
            agent: plain,
            headers: {
              Authorization: `Bearer ${token}`,
              'Content-Type': 'application/json',
              'Content-Length': Buffer.byteLength(body),
            },
          },
          (res) => {
            res.resume();
            res.on('end', () =>
              res.statusCode === 200 ? resolve() : reject(new Error(`PUT answered ${res.statusCode}`)),
            );
          },
        );
        req.on('error', reject);
        req.end(body);
      });

    const ways: [string, (s: V1Secret) => Promise<unknown>][] = [
      ['client-node as the activities build it', viaClientNode()],
      [
        'client-node, one shared keep-alive agent',
        viaClientNode(new Agent({ keepAlive: true, maxSockets: concurrency, ca })),
      ],
      ['node:https, keep-alive agent', viaHttps],
    ];
    const measure = async (label: string, put: (s: V1Secret) => Promise<unknown>) => {
      const items = await listAll(); // current resourceVersions, so no PUT conflicts
      handshakes = 0;
      const t0 = performance.now();
      await pool(items, concurrency, put);
      const ms = performance.now() - t0;
      console.log(
        `  ${label.padEnd(42)} ${String(Math.round(ms)).padStart(6)} ms  ${String(Math.round(items.length / (ms / 1000))).padStart(5)} PUT/s  ${handshakes} TLS handshakes`,
      );
    };
    console.log(`${secrets} Secrets (realistic estate), no-op PUTs with ${concurrency} in flight`);
    await measure('warm-up: rewrite under the new key (https)', viaHttps);
    for (let round = 0; round < 2; round++) for (const [label, put] of ways) await measure(label, put);
    plain.destroy();
  } finally {
    await sandbox.stop();
  }
}
