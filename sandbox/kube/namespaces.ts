/** Namespaces of one emulated cluster, and their API JSON. */
import { rfc3339 } from './secret-record';

export interface StoredNamespace {
  name: string;
  uid: string;
  resourceVersion: number;
  creationTimestamp: string;
  labels?: Record<string, string>;
  /** Set once a DELETE started; the namespace is then Terminating. */
  deletionTimestamp?: string;
}

/** Namespaces every cluster starts with and that cannot be deleted. */
export const SYSTEM_NAMESPACES = ['default', 'kube-node-lease', 'kube-public', 'kube-system'] as const;

export function namespaceObject(
  ns: StoredNamespace,
  terminating: boolean,
  nowMs: number,
): Record<string, unknown> {
  const metadata: Record<string, unknown> = {
    name: ns.name,
    uid: ns.uid,
    resourceVersion: String(ns.resourceVersion),
    creationTimestamp: ns.creationTimestamp,
    labels: { ...ns.labels, 'kubernetes.io/metadata.name': ns.name },
  };
  if (terminating) metadata.deletionTimestamp = ns.deletionTimestamp ?? rfc3339(nowMs);
  return {
    kind: 'Namespace',
    apiVersion: 'v1',
    metadata,
    spec: { finalizers: ['kubernetes'] },
    status: { phase: terminating ? 'Terminating' : 'Active' },
  };
}
