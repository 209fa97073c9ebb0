/**
 * resourceVersions are etcd revisions: decimal integers, comparable for objects of one resource type
 * (KEP-5504, GA in 1.35). Compared as BigInt so no precision is lost.
 */
export function compareResourceVersions(a: string, b: string): number {
  if (!/^\d+$/.test(a) || !/^\d+$/.test(b))
    throw new Error(`resourceVersions are not comparable: "${a}" vs "${b}"`);
  const x = BigInt(a);
  const y = BigInt(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

export function isAfter(rv: string, watermark: string): boolean {
  return compareResourceVersions(rv, watermark) > 0;
}
