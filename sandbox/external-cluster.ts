/**
 * A managed cluster whose Kubernetes API server runs outside the sandbox (the conformance tier's real
 * kube-apiserver + etcd + KMS plugin) instead of the emulated one. ARM hands out its kubeconfig and,
 * after the propagation delay, passes it every encryption change; it applies them its own way.
 */
import type { ClusterEncryption } from './contracts';
import type { EtcdViewEntry } from './kube/types';

export interface ExternalApiServerConnection {
  /** `https://127.0.0.1:<port>` */
  server: string;
  caPem: string;
  /** A bearer token the API server accepts, for both the user and the admin kubeconfig. */
  token: string;
}

export interface ExternalApiServer {
  connection(): ExternalApiServerConnection;
  /** The configuration last handed over (it may still be being applied). */
  getEncryption(): ClusterEncryption;
  /**
   * Applies what ARM decided. Called without awaiting (like a control plane rolling on its own);
   * a rejection is logged by the sandbox, and the API server keeps its previous configuration.
   */
  setEncryption(encryption: ClusterEncryption): Promise<void>;
  /** What the API server's storage holds per Secret, in the emulated clusters' shape. */
  etcdView(): Promise<EtcdViewEntry[]>;
}
