/**
 * An HTTP health endpoint for a worker in a pod: `GET /healthz` answers 200 while the worker runs (polling
 * or draining its last tasks), 503 otherwise, with the worker's state as JSON. Liveness and readiness probes
 * use it (deploy/kubernetes/worker.yaml).
 */
import * as http from 'node:http';
import type { State } from '@temporalio/worker';

const SERVING: readonly State[] = ['RUNNING'];

export function parseListenAddress(value: string): { host: string; port: number } {
  const m = /^(?:(\[[^\]]+\]|[^:]+):)?(\d{1,5})$/.exec(value.trim());
  const port = m ? Number(m[2]) : NaN;
  if (!m || port < 1 || port > 65535)
    throw new Error(`"${value}" is not a listen address: give PORT or HOST:PORT, e.g. 0.0.0.0:8080.`);
  return { host: (m[1] ?? '0.0.0.0').replace(/^\[|\]$/g, ''), port };
}

export async function startHealthServer(listen: string, state: () => State): Promise<http.Server> {
  const { host, port } = parseListenAddress(listen);
  const server = http.createServer((req, res) => {
    const now = state();
    const ok = (req.url === '/healthz' || req.url === '/readyz') && SERVING.includes(now);
    res.writeHead(req.url === '/healthz' || req.url === '/readyz' ? (ok ? 200 : 503) : 404, {
      'Content-Type': 'application/json',
    });
    res.end(JSON.stringify({ state: now }));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return server;
}
