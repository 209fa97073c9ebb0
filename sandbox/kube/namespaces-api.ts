/** The Namespaces resource: list, get, create, delete (which removes the namespace's Secrets). */
import { readObject } from './body';
import { namespaceObject, SYSTEM_NAMESPACES, type StoredNamespace } from './namespaces';
import { json, type ApiRequest, type Reply } from './reply';
import { incomingMeta, rfc3339 } from './secret-record';
import type { KubeState } from './state';
import { alreadyExists, forbidden, invalid, notFound } from './status';

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

function view(state: KubeState, ns: StoredNamespace): Record<string, unknown> {
  return namespaceObject(ns, state.isTerminating(ns.name), state.now());
}

export function listNamespaces(state: KubeState): Reply {
  const items = [...state.namespaces.values()]
    .sort((a, b) => (a.name < b.name ? -1 : 1))
    .map((ns) => {
      const { kind: _k, apiVersion: _a, ...rest } = view(state, ns);
      return rest;
    });
  return json(200, {
    kind: 'NamespaceList',
    apiVersion: 'v1',
    metadata: { resourceVersion: String(state.revision) },
    items,
  });
}

export function getNamespace(state: KubeState, name: string): Reply {
  const ns = state.namespaces.get(name);
  if (!ns) throw notFound('namespaces', name);
  return json(200, view(state, ns));
}

/** Adds a namespace record (no checks); used by create and by seeding. */
export function addNamespace(
  state: KubeState,
  name: string,
  labels?: Record<string, string>,
): StoredNamespace {
  const ns: StoredNamespace = {
    name,
    uid: state.newUid(),
    resourceVersion: state.nextRevision(),
    creationTimestamp: rfc3339(state.now()),
  };
  if (labels) ns.labels = labels;
  state.namespaces.set(name, ns);
  return ns;
}

export function createNamespace(state: KubeState, req: ApiRequest): Reply {
  const obj = readObject(req, 'Namespace');
  const name = incomingMeta(obj).name ?? '';
  if (!DNS_LABEL.test(name) || name.length > 63) {
    throw invalid(
      'Namespace',
      name,
      'metadata.name',
      `Invalid value: "${name}": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character`,
    );
  }
  if (state.namespaces.has(name)) throw alreadyExists('namespaces', name);
  const labels = (obj.metadata as { labels?: Record<string, string> } | undefined)?.labels;
  const ns = addNamespace(state, name, labels);
  return json(201, view(state, ns), 'created');
}

/**
 * Marks the namespace Terminating and answers with it, as the apiserver does; the namespace
 * controller's work (deleting the contents, then the namespace) happens at once here.
 */
export function deleteNamespace(state: KubeState, name: string): Reply {
  const ns = state.namespaces.get(name);
  if (!ns) throw notFound('namespaces', name);
  if ((SYSTEM_NAMESPACES as readonly string[]).includes(name))
    throw forbidden('namespaces', name, 'this namespace may not be deleted');
  ns.deletionTimestamp = rfc3339(state.now());
  ns.resourceVersion = state.nextRevision();
  const reply = json(200, view(state, ns));
  const removed = state.secrets.deleteNamespace(name);
  if (removed > 0) state.nextRevision();
  state.namespaces.delete(name);
  reply.detail = `deleted with ${removed} secrets`;
  return reply;
}
