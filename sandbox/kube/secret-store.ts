/**
 * Secrets in etcd key order (`<namespace>/<name>`), so a page of a list is a binary search plus
 * `limit` steps. Inserting or removing a key moves array slots (a memmove), which stays in the
 * microseconds for 100k keys; reads and updates of existing keys never do.
 */
import type { StoredSecret } from './secret-record';

export const storeKey = (namespace: string, name: string): string => `${namespace}/${name}`;

/** First key after every key of `namespace/…`: '0' sorts right after '/'. */
const namespaceEnd = (namespace: string): string => `${namespace}0`;

export interface Page {
  items: StoredSecret[];
  /** Store key of the last item when more items follow in the range. */
  lastKey?: string;
  /** Items after this page in the range. */
  remaining: number;
}

export class SecretStore {
  private readonly byKey = new Map<string, StoredSecret>();
  private keys: string[] = [];

  get size(): number {
    return this.keys.length;
  }

  get(namespace: string, name: string): StoredSecret | undefined {
    return this.byKey.get(storeKey(namespace, name));
  }

  /** Inserts or replaces. */
  put(secret: StoredSecret): void {
    const key = storeKey(secret.namespace, secret.name);
    if (!this.byKey.has(key)) this.keys.splice(this.lowerBound(key), 0, key);
    this.byKey.set(key, secret);
  }

  /** Adds many new Secrets at once (seeding): one sort instead of n splices. */
  putMany(secrets: StoredSecret[]): void {
    for (const s of secrets) {
      const key = storeKey(s.namespace, s.name);
      if (!this.byKey.has(key)) this.keys.push(key);
      this.byKey.set(key, s);
    }
    this.keys.sort(compareKeys);
  }

  delete(namespace: string, name: string): boolean {
    const key = storeKey(namespace, name);
    if (!this.byKey.delete(key)) return false;
    this.keys.splice(this.lowerBound(key), 1);
    return true;
  }

  deleteNamespace(namespace: string): number {
    const lo = this.lowerBound(`${namespace}/`);
    const hi = this.lowerBound(namespaceEnd(namespace));
    for (let i = lo; i < hi; i++) this.byKey.delete(this.keys[i] as string);
    this.keys.splice(lo, hi - lo);
    return hi - lo;
  }

  countInNamespace(namespace: string): number {
    return this.lowerBound(namespaceEnd(namespace)) - this.lowerBound(`${namespace}/`);
  }

  /**
   * Up to `limit` Secrets (0 = all) of one namespace (or all namespaces), starting at the first key
   * at or after `fromKey`.
   */
  page(namespace: string | undefined, fromKey: string | undefined, limit: number): Page {
    let lo = namespace === undefined ? 0 : this.lowerBound(`${namespace}/`);
    const hi = namespace === undefined ? this.keys.length : this.lowerBound(namespaceEnd(namespace));
    if (fromKey !== undefined) lo = Math.max(lo, this.lowerBound(fromKey));
    const end = limit > 0 ? Math.min(hi, lo + limit) : hi;
    const items: StoredSecret[] = [];
    for (let i = lo; i < end; i++) items.push(this.byKey.get(this.keys[i] as string) as StoredSecret);
    const page: Page = { items, remaining: hi - end };
    if (end < hi && end > lo) page.lastKey = this.keys[end - 1] as string;
    return page;
  }

  *values(): IterableIterator<StoredSecret> {
    for (const key of this.keys) yield this.byKey.get(key) as StoredSecret;
  }

  private lowerBound(key: string): number {
    let lo = 0;
    let hi = this.keys.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.keys[mid] as string) < key) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

// Names and namespaces are ASCII (DNS labels), so UTF-16 order equals etcd's byte order.
function compareKeys(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
