import * as os from 'node:os';
import * as path from 'node:path';

/**
 * Where kmsflow keeps slow-to-build artefacts (the Temporal CLI, later kube-apiserver and etcd).
 * It lives outside the work tree on purpose: CI and every fresh clone on the same machine reuse it.
 */
export function kmsflowCacheDir(): string {
  if (process.env.KMSFLOW_CACHE_DIR) return path.resolve(process.env.KMSFLOW_CACHE_DIR);
  const base = process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  return path.join(base, 'kmsflow');
}
