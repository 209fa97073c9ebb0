/** Maps an authenticated request to its handler. */
import { coreApi, coreV1Resources, groupsApi, openApiV2, parseMinor, versionInfo } from './discovery';
import { livez, readyz } from './health';
import { createNamespace, deleteNamespace, getNamespace, listNamespaces } from './namespaces-api';
import { header, type ApiRequest, type Reply } from './reply';
import {
  createSecret,
  deleteSecret,
  getSecret,
  listSecrets,
  patchSecret,
  replaceSecret,
} from './secrets-api';
import type { KubeState } from './state';
import { methodNotAllowed, routeNotFound } from './status';

const NAMESPACED_SECRETS = /^\/api\/v1\/namespaces\/([^/]+)\/secrets(?:\/([^/]+))?\/?$/;
const NAMESPACE = /^\/api\/v1\/namespaces(?:\/([^/]+))?\/?$/;

export function route(state: KubeState, kubernetesVersion: string, req: ApiRequest): Reply {
  const { method, pathname } = req;
  const m = NAMESPACED_SECRETS.exec(pathname);
  if (m) {
    const namespace = decodeURIComponent(m[1] as string);
    const name = m[2] === undefined ? undefined : decodeURIComponent(m[2]);
    if (name === undefined) {
      if (method === 'GET') return listSecrets(state, namespace, req);
      if (method === 'POST') return createSecret(state, namespace, req);
      throw methodNotAllowed();
    }
    if (method === 'GET') return getSecret(state, namespace, name);
    if (method === 'PUT') return replaceSecret(state, namespace, name, req);
    if (method === 'PATCH') return patchSecret(state, namespace, name, req);
    if (method === 'DELETE') return deleteSecret(state, namespace, name, req);
    throw methodNotAllowed();
  }
  if (pathname === '/api/v1/secrets') {
    if (method === 'GET') return listSecrets(state, undefined, req);
    throw methodNotAllowed();
  }
  const n = NAMESPACE.exec(pathname);
  if (n) {
    const name = n[1] === undefined ? undefined : decodeURIComponent(n[1]);
    if (name === undefined) {
      if (method === 'GET') return listNamespaces(state);
      if (method === 'POST') return createNamespace(state, req);
      throw methodNotAllowed();
    }
    if (method === 'GET') return getNamespace(state, name);
    if (method === 'DELETE') return deleteNamespace(state, name);
    throw methodNotAllowed();
  }
  if (method !== 'GET') throw methodNotAllowed();
  const accept = header(req, 'accept');
  const minor = parseMinor(kubernetesVersion);
  switch (pathname) {
    case '/version':
    case '/version/':
      return versionInfo(kubernetesVersion);
    case '/api':
    case '/api/':
      return coreApi(accept, minor);
    case '/apis':
    case '/apis/':
      return groupsApi(accept, minor);
    case '/api/v1':
    case '/api/v1/':
      return coreV1Resources();
    case '/openapi/v2':
      return openApiV2();
    case '/readyz':
      return readyz(state, req.query.has('verbose'));
    case '/healthz':
    case '/livez':
      return livez();
    case '/metrics':
      return {
        status: 200,
        contentType: 'text/plain; version=0.0.4; charset=utf-8',
        body: `# TYPE apiserver_storage_objects gauge\napiserver_storage_objects{resource="secrets"} ${state.secrets.size}\napiserver_storage_objects{resource="namespaces"} ${state.namespaces.size}\n`,
      };
    default:
      throw routeNotFound();
  }
}
