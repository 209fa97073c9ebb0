/** Key Vault key identifiers: `https://<vault>.vault.azure.net[:port]/keys/<name>[/<version>]`. */
import { VAULT_DNS_SUFFIX } from '../client-options';

export interface ParsedKeyId {
  vaultName: string;
  keyName: string;
  version?: string;
}

export function parseKeyId(keyId: string): ParsedKeyId | undefined {
  let url: URL;
  try {
    url = new URL(keyId);
  } catch {
    return undefined;
  }
  if (url.protocol !== 'https:') return undefined;
  const host = url.hostname.toLowerCase();
  if (!host.endsWith(`.${VAULT_DNS_SUFFIX}`)) return undefined;
  const vaultName = host.slice(0, -VAULT_DNS_SUFFIX.length - 1);
  const segments = url.pathname.split('/').slice(1);
  if (segments[0] !== 'keys' || !segments[1] || segments.length > 3) return undefined;
  const version = segments[2] || undefined;
  return { vaultName, keyName: segments[1], ...(version ? { version } : {}) };
}

/** Same vault, key and version, ignoring port and host case. */
export function sameKeyVersion(a: string | undefined, b: string | undefined): boolean {
  if (!a || !b) return false;
  const pa = parseKeyId(a);
  const pb = parseKeyId(b);
  if (!pa || !pb) return a === b;
  return (
    pa.vaultName === pb.vaultName &&
    pa.keyName === pb.keyName &&
    (pa.version ?? '').toLowerCase() === (pb.version ?? '').toLowerCase()
  );
}
