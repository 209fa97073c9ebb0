/**
 * The sandbox's admin and inspection endpoints, under /_sandbox/ on any host:
 *   GET    /_sandbox/health                       {"ok":true}
 *   GET    /_sandbox/ca                           the CA certificate (PEM)
 *   GET    /_sandbox/dns/<host name>              what the name resolves to: 127.0.0.1, or 404 when no such vault exists
 *   GET    /_sandbox/state                        overview: subscriptions, clusters, vaults/keys, identities, role assignments
 *   GET    /_sandbox/clusters/<name>[?entries=1]  cluster inspection (key slots, encryption, etcd summary[, per-Secret view], operations)
 *   GET    /_sandbox/clusters/<name>/etcd         per-Secret etcd view
 *   GET|PUT /_sandbox/clusters/<name>/kube-faults Kubernetes faults (PUT merges; null clears a field)
 *   POST   /_sandbox/clusters/<name>/restart-apiserver  the API server restarts: it forgets the seeds it decrypted
 *   GET    /_sandbox/oplog?service=&method=&path=&status=&afterSeq=&detail=
 *   GET    /_sandbox/faults                       {seed, rules}
 *   PUT    /_sandbox/faults                       replace: {seed?, rules}
 *   POST   /_sandbox/faults                       add one rule
 *   DELETE /_sandbox/faults[/<id>]                remove all rules / one rule
 *   POST   /_sandbox/snapshot                     persist now (when a state directory is configured)
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ZodError } from 'zod';
import { isSandboxHostname, VAULT_DNS_SUFFIX } from './client-options';
import type { SandboxContext } from './context';
import { HttpError, isObject, readJsonObject, sendJson } from './http';
import { inspectCluster, inspectSandbox } from './inspect';
import { applyKubeFaults, kubeFaultsToJson } from './kube-faults';
import { filterFromQuery } from './oplog';

export interface AdminDeps {
  ctx: SandboxContext;
  snapshot(): Promise<boolean>;
}

export async function handleAdminRequest(
  deps: AdminDeps,
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
): Promise<void> {
  try {
    await route(deps, req, res, url);
  } catch (e) {
    if (e instanceof ZodError)
      throw new HttpError(
        400,
        'InvalidFaultSpec',
        e.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; '),
      );
    if (e instanceof SyntaxError) throw new HttpError(400, 'InvalidFaultSpec', e.message);
    throw e;
  }
}

async function route(
  { ctx, snapshot }: AdminDeps,
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
): Promise<void> {
  const method = (req.method ?? 'GET').toUpperCase();
  const parts = url.pathname.split('/').filter(Boolean).slice(1).map(decodeURIComponent);
  const [section, name, sub] = parts;

  if (section === 'health' && method === 'GET') return sendJson(res, 200, { ok: true });
  if (section === 'ca' && method === 'GET') {
    res.writeHead(200, { 'Content-Type': 'application/x-pem-file' }).end(ctx.caPem);
    return;
  }
  if (section === 'state' && method === 'GET') return sendJson(res, 200, inspectSandbox(ctx));
  if (section === 'dns' && name && method === 'GET') {
    // A vault's host name exists in DNS only while the vault does (the clients' lookup asks here).
    const host = name.toLowerCase();
    const vaultName = host.endsWith(`.${VAULT_DNS_SUFFIX}`)
      ? host.slice(0, -VAULT_DNS_SUFFIX.length - 1)
      : '';
    const resolves =
      isSandboxHostname(host) && (!vaultName || ctx.store.vaultByName(vaultName) !== undefined);
    if (!resolves) throw new HttpError(404, 'NXDOMAIN', `${host} does not resolve.`);
    return sendJson(res, 200, { hostname: host, address: '127.0.0.1' });
  }
  if (section === 'oplog' && method === 'GET')
    return sendJson(res, 200, { entries: ctx.oplog.entries(filterFromQuery(url.searchParams)) });

  if (section === 'clusters' && name) {
    const kube = ctx.kube.get(name);
    if (!sub && method === 'GET') {
      const inspection = inspectCluster(ctx, name, { entries: url.searchParams.get('entries') === '1' });
      if (!inspection) throw new HttpError(404, 'ClusterNotFound', `No cluster named '${name}'.`);
      return sendJson(res, 200, inspection);
    }
    const external = ctx.kube.external(name);
    if (external && sub === 'etcd' && method === 'GET')
      return sendJson(res, 200, { entries: await external.etcdView() });
    if (!kube) throw new HttpError(404, 'ClusterNotFound', `No emulated API server for cluster '${name}'.`);
    if (sub === 'etcd' && method === 'GET') return sendJson(res, 200, { entries: kube.etcdView() });
    if (sub === 'restart-apiserver' && method === 'POST') {
      kube.restartApiServer();
      return sendJson(res, 200, { restarted: name });
    }
    if (sub === 'kube-faults' && method === 'GET')
      return sendJson(res, 200, kubeFaultsToJson(kube.kubeFaults));
    if (sub === 'kube-faults' && method === 'PUT') {
      applyKubeFaults(kube.kubeFaults, await readJsonObject(req));
      ctx.changed();
      return sendJson(res, 200, kubeFaultsToJson(kube.kubeFaults));
    }
  }

  if (section === 'faults') {
    if (method === 'GET' && !name) return sendJson(res, 200, ctx.faults.toJSON());
    if (method === 'PUT' && !name) {
      const body = await readJsonObject(req);
      ctx.faults.configure({
        ...(typeof body.seed === 'number' ? { seed: body.seed } : {}),
        rules: Array.isArray(body.rules) ? body.rules : [],
      });
      ctx.changed();
      return sendJson(res, 200, ctx.faults.toJSON());
    }
    if (method === 'POST' && !name) {
      const body = await readJsonObject(req);
      const rule = ctx.faults.addRule(isObject(body.rule) ? body.rule : body);
      ctx.changed();
      return sendJson(res, 201, rule);
    }
    if (method === 'DELETE') {
      if (name) {
        if (!ctx.faults.removeRule(name))
          throw new HttpError(404, 'FaultNotFound', `No fault rule '${name}'.`);
      } else ctx.faults.clear();
      ctx.changed();
      return sendJson(res, 200, ctx.faults.toJSON());
    }
  }

  if (section === 'snapshot' && method === 'POST') return sendJson(res, 200, { saved: await snapshot() });
  throw new HttpError(404, 'NotFound', `Unknown admin endpoint ${method} ${url.pathname}.`);
}
