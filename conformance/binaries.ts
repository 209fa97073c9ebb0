import * as fs from 'node:fs';
import * as path from 'node:path';
import { kmsflowCacheDir } from '../client/cache-dir';

/**
 * The pinned real control-plane versions of the conformance tier. etcd is the server version that
 * kubernetes' own module graph requires for this release, so both build from one wrapper module.
 */
export const KUBE_VERSION = '1.34.4';
export const ETCD_VERSION = '3.6.4';

export interface ConformanceBinaries {
  kubeApiserver: string;
  etcd: string;
}

export function conformanceBinDir(version = KUBE_VERSION): string {
  return path.join(kmsflowCacheDir(), 'k8s', `v${version}`);
}

export function cachedConformanceBinaries(version = KUBE_VERSION): ConformanceBinaries {
  const dir = conformanceBinDir(version);
  return { kubeApiserver: path.join(dir, 'kube-apiserver'), etcd: path.join(dir, 'etcd') };
}

export function isExecutableFile(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

/**
 * The binaries to run: KMSFLOW_KUBE_APISERVER / KMSFLOW_ETCD override the cache (e.g. Debian's
 * /usr/bin/etcd as the etcd fallback). Returns undefined when either is missing.
 */
export function findConformanceBinaries(): ConformanceBinaries | undefined {
  const cached = cachedConformanceBinaries();
  const found = {
    kubeApiserver: process.env.KMSFLOW_KUBE_APISERVER || cached.kubeApiserver,
    etcd: process.env.KMSFLOW_ETCD || cached.etcd,
  };
  return isExecutableFile(found.kubeApiserver) && isExecutableFile(found.etcd) ? found : undefined;
}

export const CONFORMANCE_SETUP_HINT =
  `The conformance tier needs kube-apiserver v${KUBE_VERSION} and etcd v${ETCD_VERSION} in ${conformanceBinDir()}. ` +
  `Build them once with 'npx tsx conformance/setup.ts' (Go >= 1.24 and Go module access; about 8 minutes on 2 cores), ` +
  `or point KMSFLOW_KUBE_APISERVER and KMSFLOW_ETCD at existing binaries.`;
