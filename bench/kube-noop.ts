/**
 * Throughput of the emulated Kubernetes API server over loopback HTTPS: how fast it seeds 100k
 * Secrets (and the memory that takes), how fast a client can page through a list, and how many
 * no-op updates per second it sustains (rewrite after a key change, then short-circuit) with
 * 1..N concurrent keep-alive clients. The server runs in a child process so the client's CPU is not
 * counted against it (both still share the machine's cores).
 *
 *   npx tsx bench/kube-noop.ts [--secrets 20000] [--seed-size 100000] [--concurrency 1,8,32] [--mix small|realistic]
 */
import { fork } from 'node:child_process';
import { Agent, request } from 'node:https';
import type { ClusterEncryption } from '../sandbox/contracts';
import { EmulatedKubeCluster } from '../sandbox/kube/cluster';
import { makeTls, type TlsMaterial } from '../test/sandbox/kube/helpers';

const TOKEN = 'bench-token';
const key = (n: number) => `https://kv-bench.vault.azure.net/keys/kek/${String(n).padStart(32, '0')}`;
const encryptionFor = (n: number): ClusterEncryption => ({
  write: { type: 'kms-v2', keyId: key(n) },
  slots: { current: key(n), previous: key(n - 1) },
});

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? (process.argv[i + 1] ?? fallback) : fallback;
}

type ToServer =
  | { op: 'start'; secrets: number; seedSize: number; mix: string; tls: TlsMaterial }
  | { op: 'rotate'; to: number }
  | { op: 'stale' };
type FromServer =
  | {
      op: 'started';
      port: number;
      seedMs: number;
      seedSummary: unknown;
      heapMb: number;
      rssMb: number;
      seedHeapMb: number;
    }
  | { op: 'rotated' }
  | { op: 'stale'; stale: number };

// ---------- server side (child process) ----------

function serve(): void {
  let cluster: EmulatedKubeCluster;
  process.on('message', async (m: ToServer) => {
    if (m.op === 'start') {
      const mb = (n: number) => Math.round(n / 1e6);
      global.gc?.();
      const base = process.memoryUsage();
      // Seeding scale measurement: a separate 100k-class cluster, dropped afterwards.
      let big: EmulatedKubeCluster | undefined = new EmulatedKubeCluster(options(1));
      const t0 = performance.now();
      const seedSummary = big.seed({ secrets: m.seedSize, namespaces: 60, seed: 1 });
      const seedMs = performance.now() - t0;
      global.gc?.();
      const afterSeed = process.memoryUsage();
      const seedHeapMb = mb(afterSeed.heapUsed + afterSeed.external - base.heapUsed - base.external);
      const rssMb = mb(afterSeed.rss);
      big = undefined;
      cluster = new EmulatedKubeCluster(options(1));
      const mix =
        m.mix === 'small'
          ? { opaque: 1, tls: 0, dockerconfigjson: 0, 'service-account-token': 0, helm: 0 }
          : undefined;
      cluster.seed({ secrets: m.secrets, namespaces: 20, seed: 2, ...(mix ? { mix } : {}) });
      const { createServer } = await import('node:https');
      const server = createServer(
        { cert: m.tls.certPem, key: m.tls.keyPem, keepAliveTimeout: 60_000 },
        (req, res) => {
          void cluster.handle(req, res, req.url ?? '/');
        },
      );
      server.listen(0, '127.0.0.1', () => {
        const address = server.address();
        const port = typeof address === 'object' && address ? address.port : 0;
        send({
          op: 'started',
          port,
          seedMs,
          seedSummary,
          heapMb: mb(process.memoryUsage().heapUsed),
          rssMb,
          seedHeapMb,
        });
      });
    } else if (m.op === 'rotate') {
      cluster.setEncryption(encryptionFor(m.to));
      send({ op: 'rotated' });
    } else {
      const write = cluster.getEncryption().write;
      const stale = cluster
        .etcdView()
        .filter(
          (e) =>
            e.provider.type !== write.type ||
            (e.provider as { keyId?: string }).keyId !== (write as { keyId?: string }).keyId,
        ).length;
      send({ op: 'stale', stale });
    }
  });
  function options(n: number) {
    return {
      name: 'bench',
      kubernetesVersion: '1.32.4',
      encryption: encryptionFor(n),
      keys: { keyProblem: () => undefined },
      recorder: { record() {} },
      tokens: { user: TOKEN, admin: TOKEN },
    };
  }
  function send(m: FromServer): void {
    process.send?.(m);
  }
}

// ---------- client side ----------

interface Response {
  status: number;
  body: string;
}

function call(
  agent: Agent,
  ca: string,
  port: number,
  method: string,
  path: string,
  body?: string,
): Promise<Response> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        method,
        path,
        agent,
        ca,
        headers: {
          Authorization: `Bearer ${TOKEN}`,
          Accept: 'application/json',
          ...(body ? { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) } : {}),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

async function main(): Promise<void> {
  const secrets = Number(arg('secrets', '20000'));
  const seedSize = Number(arg('seed-size', '100000'));
  const concurrencies = arg('concurrency', '1,8,32').split(',').map(Number);
  const mix = arg('mix', 'small');
  const tls = await makeTls();
  const child = fork(__filename, ['--serve'], {
    execArgv: [...process.execArgv, '--expose-gc', '--max-old-space-size=8192'],
  });
  const next = <T extends FromServer['op']>(op: T) =>
    new Promise<Extract<FromServer, { op: T }>>((resolve) =>
      child.once('message', (m: FromServer) => m.op === op && resolve(m as Extract<FromServer, { op: T }>)),
    );
  child.send({ op: 'start', secrets, seedSize, mix, tls } satisfies ToServer);
  const started = await next('started');
  console.log(
    `seeding ${seedSize} Secrets (realistic mix): ${(started.seedMs / 1000).toFixed(2)} s, +${started.seedHeapMb} MB heap+external, rss ${started.rssMb} MB`,
  );
  console.log(`  summary ${JSON.stringify(started.seedSummary)}`);

  const port = started.port;
  const listAgent = new Agent({ keepAlive: true, maxSockets: 1 });
  const bodies: string[] = [];
  let bytes = 0;
  let token = '';
  const t0 = performance.now();
  do {
    const res = await call(
      listAgent,
      tls.caPem,
      port,
      'GET',
      `/api/v1/secrets?limit=500${token ? `&continue=${encodeURIComponent(token)}` : ''}`,
    );
    bytes += res.body.length;
    const list = JSON.parse(res.body) as {
      metadata: { continue?: string };
      items: { metadata: Record<string, unknown> }[];
    };
    for (const item of list.items) {
      delete item.metadata.resourceVersion;
      bodies.push(JSON.stringify({ kind: 'Secret', apiVersion: 'v1', ...item }));
    }
    token = list.metadata.continue ?? '';
  } while (token);
  const listS = (performance.now() - t0) / 1000;
  console.log(
    `list (${mix} mix, pages of 500, one client): ${bodies.length} Secrets, ${(bytes / 1e6).toFixed(1)} MB in ${listS.toFixed(2)} s = ${Math.round(bodies.length / listS)} Secrets/s, ${(bytes / 1e6 / listS).toFixed(1)} MB/s`,
  );
  const bodyMb = bodies.reduce((n, b) => n + b.length, 0) / 1e6;

  let keyNo = 1;
  for (const c of concurrencies) {
    const agent = new Agent({ keepAlive: true, maxSockets: c });
    const pass = async (label: string) => {
      let i = 0;
      let done = 0;
      const start = performance.now();
      await Promise.all(
        Array.from({ length: c }, async () => {
          while (i < bodies.length) {
            const body = bodies[i++] as string;
            const name = /"name":"([^"]+)","namespace":"([^"]+)"/.exec(body);
            const res = await call(
              agent,
              tls.caPem,
              port,
              'PUT',
              `/api/v1/namespaces/${name?.[2]}/secrets/${name?.[1]}`,
              body,
            );
            if (res.status !== 200) throw new Error(`PUT answered ${res.status}: ${res.body.slice(0, 200)}`);
            done++;
          }
        }),
      );
      const s = (performance.now() - start) / 1000;
      const stale = (child.send({ op: 'stale' } satisfies ToServer), await next('stale')).stale;
      if (stale !== 0) throw new Error(`${stale} Secrets still stale after the ${label} pass`);
      console.log(
        `  ${label.padEnd(15)} concurrency ${String(c).padStart(2)}: ${done} PUTs in ${s.toFixed(2)} s = ${Math.round(done / s)} req/s, ${(bodyMb / s).toFixed(1)} MB/s`,
      );
    };
    child.send({ op: 'rotate', to: ++keyNo } satisfies ToServer);
    await next('rotated');
    await pass('rewrite');
    await pass('short-circuit');
    agent.destroy();
  }
  listAgent.destroy();
  child.kill();
}

if (process.argv.includes('--serve')) serve();
else
  main().catch((e: unknown) => {
    console.error(e);
    process.exit(1);
  });
