/**
 * A `latency` fault rule delays kube requests without resetting kept-alive connections. The client runs
 * in a worker thread: the failure needs it to send its next request while the sandbox's event loop is
 * still between answering the delayed request and seeing that answer flushed, which a client on the
 * same event loop never does.
 */
import { Worker } from 'node:worker_threads';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { startSandbox, type RunningSandbox } from '../../sandbox/sandbox';
import { testScenario } from './helpers';

const CLUSTER = 'c-system';
const PUTS = 300;
const SECRETS = 10;

interface Target {
  server: string;
  ca: string;
  token: string;
}

interface ClientResult {
  statuses: Record<string, number>;
  failures: string[];
}

let sb: RunningSandbox;
let target: Target;

beforeAll(async () => {
  sb = await startSandbox({ scenario: testScenario(), operationDurationMs: 100 });
  const config = parseYaml(sb.kubeconfig(CLUSTER)) as {
    clusters: { cluster: { server: string; 'certificate-authority-data': string } }[];
    users: { user: { token: string } }[];
  };
  const cluster = config.clusters[0]?.cluster;
  target = {
    server: cluster?.server ?? '',
    ca: Buffer.from(cluster?.['certificate-authority-data'] ?? '', 'base64').toString('utf8'),
    token: config.users[0]?.user.token ?? '',
  };
});
afterAll(async () => {
  await sb.close();
});

/** Sequential writes over one kept-alive connection; every socket error is recorded, not thrown. */
const CLIENT = `
const https = require('node:https');
const { parentPort, workerData } = require('node:worker_threads');
const { server, ca, token, puts, secrets } = workerData;
const agent = new https.Agent({ keepAlive: true, maxSockets: 1 });
const send = (method, path, body) => new Promise((resolve, reject) => {
  const req = https.request(server + path, { method, agent, ca, headers: { Authorization: 'Bearer ' + token, 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) } }, (res) => {
    res.resume();
    res.on('end', () => resolve(res.statusCode));
    res.on('error', reject);
  });
  req.on('error', reject);
  req.end(body);
});
const secret = (name, bytes) => JSON.stringify({ apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace: 'default' }, data: { payload: Buffer.alloc(bytes, name).toString('base64') } });
(async () => {
  const statuses = {};
  const failures = [];
  const count = (status) => { statuses[status] = (statuses[status] || 0) + 1; };
  for (let i = 0; i < secrets; i++) count('create ' + (await send('POST', '/api/v1/namespaces/default/secrets', secret('s' + i, 16))));
  for (let i = 0; i < puts; i++) {
    const name = 's' + (i % secrets);
    const bytes = 15000 + ((i * 7919) % 82000); // a JSON body of 20-130 KB
    try {
      count(await send('PUT', '/api/v1/namespaces/default/secrets/' + name, secret(name, bytes)));
    } catch (e) {
      failures.push('PUT #' + i + ' (' + Buffer.byteLength(secret(name, bytes)) + ' bytes): ' + e.message);
    }
  }
  agent.destroy();
  parentPort.postMessage({ statuses, failures });
})().catch((e) => parentPort.postMessage({ statuses: {}, failures: ['client: ' + e.message] }));
`;

function runClient(): Promise<ClientResult> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(CLIENT, {
      eval: true,
      workerData: { ...target, puts: PUTS, secrets: SECRETS },
    });
    worker.once('message', (result: ClientResult) => {
      void worker.terminate();
      resolve(result);
    });
    worker.once('error', reject);
  });
}

describe('latency fault rule', () => {
  it('delays large kube writes on one kept-alive connection without resetting it', async () => {
    sb.faults.addRule({
      service: 'kube',
      cluster: CLUSTER,
      method: 'PUT',
      action: { kind: 'latency', ms: 1 },
    });
    sb.faults.addRule({
      service: 'kube',
      cluster: CLUSTER,
      method: 'PUT',
      probability: 0.5,
      action: { kind: 'latency', ms: 9 },
    });
    const result = await runClient();
    console.log(`latency fault: ${result.failures.length} of ${PUTS} PUTs got no HTTP answer`);
    expect(result.failures).toEqual([]);
    expect(result.statuses).toEqual({ 'create 201': SECRETS, 200: PUTS });
  });
});
