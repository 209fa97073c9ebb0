/**
 * The sandbox's single HTTPS server. Routing:
 *   /_sandbox/...            (any host)  admin and inspection endpoints
 *   /k8s/<cluster>/...       (any host)  that cluster's emulated Kubernetes API server
 *   Host management.azure.com            Azure Resource Manager
 *   Host <vault>.vault.azure.net         that vault's Key Vault data plane
 * Mutating ARM and Key Vault calls are written to the operation log (the clusters log their own).
 */
import * as https from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { SandboxService } from './contracts';
import { ARM_HOST, VAULT_DNS_SUFFIX } from './client-options';
import type { SandboxContext } from './context';
import { handleAdminRequest, type AdminDeps } from './admin';
import { handleArmRequest } from './arm/router';
import { getLogDetail, HttpError, requestHostname, requestUrl, sendAzureError, sendJson } from './http';
import { handleKeyVaultRequest, isKeyVaultCryptoPath } from './keyvault/data-plane';
import type { SandboxTlsMaterial } from './tls';

const MUTATING = new Set(['PUT', 'POST', 'PATCH', 'DELETE']);
/** ARM actions that are POSTs but change nothing: reading cluster credentials. */
const READ_ONLY_ARM_ACTION = /\/listCluster(User|Admin)Credential$/i;

export interface SandboxServerDeps {
  /** Filled in once the state is loaded; until then requests get 503. */
  ctx?: SandboxContext;
  snapshot(): Promise<boolean>;
}

function recordOnFinish(
  ctx: SandboxContext,
  service: SandboxService,
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
): void {
  const method = (req.method ?? 'GET').toUpperCase();
  if (!MUTATING.has(method)) return;
  if (service === 'keyvault' && isKeyVaultCryptoPath(path)) return;
  if (service === 'arm' && READ_ONLY_ARM_ACTION.test(path)) return;
  res.once('finish', () => {
    const detail = getLogDetail(res);
    ctx.oplog.record({ service, method, path, status: res.statusCode, ...(detail ? { detail } : {}) });
  });
}

async function dispatch(deps: SandboxServerDeps, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const ctx = deps.ctx;
  if (!ctx) {
    sendJson(
      res,
      503,
      { error: { code: 'ServiceUnavailable', message: 'The sandbox is starting.' } },
      { 'Retry-After': '1' },
    );
    return;
  }
  const url = requestUrl(req);
  const path = url.pathname;

  if (path === '/_sandbox' || path.startsWith('/_sandbox/')) {
    const admin: AdminDeps = { ctx, snapshot: deps.snapshot };
    return handleAdminRequest(admin, req, res, url);
  }

  const kubeMatch = /^\/k8s\/([^/]+)(\/.*)?$/.exec(path);
  if (kubeMatch) {
    const name = decodeURIComponent(kubeMatch[1] ?? '');
    const cluster = ctx.kube.get(name);
    if (!cluster) {
      sendJson(res, 404, {
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Failure',
        message: `cluster "${name}" not found in the sandbox`,
        reason: 'NotFound',
        code: 404,
      });
      return;
    }
    const raw = req.url ?? '';
    const rest =
      raw.slice(raw.indexOf(`/k8s/${kubeMatch[1] ?? ''}`) + `/k8s/${kubeMatch[1] ?? ''}`.length) || '/';
    return cluster.handle(req, res, rest.startsWith('/') ? rest : `/${rest}`);
  }

  const host = requestHostname(req);
  if (host === ARM_HOST) {
    recordOnFinish(ctx, 'arm', req, res, path);
    if (await ctx.faults.intercept({ service: 'arm', method: req.method ?? 'GET', path }, req, res)) return;
    return handleArmRequest(ctx, req, res, url);
  }
  if (host.endsWith(`.${VAULT_DNS_SUFFIX}`)) {
    recordOnFinish(ctx, 'keyvault', req, res, path);
    if (await ctx.faults.intercept({ service: 'keyvault', method: req.method ?? 'GET', path }, req, res))
      return;
    return handleKeyVaultRequest(ctx, host.slice(0, -VAULT_DNS_SUFFIX.length - 1), req, res, url);
  }
  throw new HttpError(
    404,
    'NotFound',
    `The sandbox serves management.azure.com, <vault>.vault.azure.net, /k8s/<cluster> and /_sandbox; got host '${host}'.`,
  );
}

export function createSandboxServer(tls: SandboxTlsMaterial, deps: SandboxServerDeps): https.Server {
  const server = https.createServer(
    { cert: tls.serverCertPem, key: tls.serverKeyPem, keepAliveTimeout: 5_000 },
    (req, res) => {
      dispatch(deps, req, res).catch((err: unknown) => {
        if (res.headersSent || res.destroyed) {
          res.destroy();
          return;
        }
        if (err instanceof HttpError) {
          req.resume();
          sendAzureError(res, err);
          return;
        }
        console.error('sandbox: unhandled error', err);
        sendAzureError(
          res,
          new HttpError(500, 'InternalServerError', 'The sandbox failed to process the request.'),
        );
      });
    },
  );
  // Parse from the socket stream: Node's native TLS parsing resets (HPE_PAUSED) a request arriving before the previous answer is flushed.
  server.on('secureConnection', (socket: TLSSocket) => socket.on('data', () => {}));
  return server;
}

export function listen(server: https.Server, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}
