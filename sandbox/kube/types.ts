/**
 * Public types of the emulated Kubernetes API server. The Azure side of the sandbox compiles against
 * these (through `cluster.ts`), so keep them stable.
 */
import type {
  ClusterEncryption,
  FaultHook,
  KeyUsability,
  OperationRecorder,
  StorageProvider,
} from '../contracts';

export interface KubeClusterOptions {
  /** Cluster name, unique in the sandbox; also its URL segment. */
  name: string;
  /** e.g. '1.29.7'; GET /version reports it (kubectl's dispatcher picks its bundled build from the minor). */
  kubernetesVersion: string;
  encryption: ClusterEncryption;
  /** Asks Key Vault whether a key version can still decrypt. */
  keys: KeyUsability;
  /** Every mutating request is recorded (service 'kube'). */
  recorder: OperationRecorder;
  /** Generic transport faults, called first on every request. */
  faults?: FaultHook;
  /** Bearer tokens accepted; anything else gets a 401 Status. */
  tokens: { user: string; admin: string };
  /** Continue tokens of a list started longer ago than this answer 410 Expired (default 5 minutes). */
  continueTokenTtlMs?: number;
  /** How long the API server keeps a seed it decrypted (default 24 h, kube-apiserver's); a restart forgets them. */
  seedCacheTtlMs?: number;
  /** Clock, for tests. */
  now?: () => number;
}

/** Faults specific to the Kubernetes API; mutable at any time. */
export interface KubeFaults {
  /** After this many pages of one list, the next `continue` request answers 410 Expired. */
  expireContinueAfterPages?: number;
  /**
   * Share (0..1) of Secret updates (PUT/PATCH) answered with 409 Conflict. Which ones is a seeded
   * function of (seed, object, attempt number), so runs are reproducible under any concurrency.
   */
  conflictShare?: number;
  /** Namespaces that behave as if being deleted: writes into them are refused with 403. */
  terminatingNamespaces: Set<string>;
  /** Seed of the conflict choice (default 1). Changing it resets the attempt counts. */
  seed?: number;
}

/** What etcd holds for one Secret: the ground truth tests assert on. */
export interface EtcdViewEntry {
  namespace: string;
  name: string;
  resourceVersion: string;
  provider: StorageProvider;
  /** False when the apiserver could not decrypt it now (key left both slots, or key version unusable). */
  readable: boolean;
  /** Approximate stored size (data, keys, labels and annotations). */
  bytes: number;
}

export interface SnapshotSecret {
  namespace: string;
  name: string;
  uid: string;
  resourceVersion: number;
  creationTimestamp: string;
  type: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  immutable?: boolean;
  /** Values base64-encoded, as in the API. */
  data: Record<string, string>;
  managedFields?: unknown[];
  provider: StorageProvider;
}

export interface SnapshotNamespace {
  name: string;
  uid: string;
  resourceVersion: number;
  creationTimestamp: string;
  labels?: Record<string, string>;
}

/** JSON-serialisable state of one emulated cluster. */
export interface KubeClusterSnapshot {
  version: 1;
  name: string;
  kubernetesVersion: string;
  encryption: ClusterEncryption;
  /** Last issued cluster-wide revision. */
  revision: number;
  namespaces: SnapshotNamespace[];
  secrets: SnapshotSecret[];
  faults: {
    expireContinueAfterPages?: number;
    conflictShare?: number;
    terminatingNamespaces: string[];
    seed?: number;
  };
}
