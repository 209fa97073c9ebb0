/** Ground truth for the conformance tests: under which provider and key every Secret sits in etcd. */
import type { EtcdClient } from './etcd-client';
import { describeStoredValue, parseStoredValue, type StoredValue } from './stored-value';

export interface StoredSecret {
  /** The full etcd key, `<prefix>/secrets/<namespace>/<name>` (also the AES-GCM additional data). */
  key: string;
  namespace: string;
  name: string;
  /** etcd's mod revision, which is the object's resourceVersion. */
  modRevision: number;
  /** Size of the stored value in bytes (envelope included). */
  bytes: number;
  stored: StoredValue;
}

export async function readStoredSecrets(
  etcd: EtcdClient,
  etcdPrefix = '/registry',
): Promise<{ secrets: StoredSecret[]; revision: number }> {
  const prefix = `${etcdPrefix}/secrets/`;
  const { entries, revision } = await etcd.getAllWithPrefix(prefix);
  const secrets = entries.map((e) => {
    const [namespace = '', name = ''] = e.key.slice(prefix.length).split('/');
    return {
      key: e.key,
      namespace,
      name,
      modRevision: e.modRevision,
      bytes: e.value.length,
      stored: parseStoredValue(e.value),
    };
  });
  return { secrets, revision };
}

/** How many Secrets sit under each `kms-v2/<provider>/<keyId>` (or `identity/…`): the assertion-friendly summary. */
export function storageSummary(secrets: StoredSecret[]): Record<string, number> {
  const summary: Record<string, number> = {};
  for (const s of secrets) {
    const label = describeStoredValue(s.stored);
    summary[label] = (summary[label] ?? 0) + 1;
  }
  return summary;
}
