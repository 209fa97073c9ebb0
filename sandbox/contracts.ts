/**
 * The seams between the parts of the sandbox: the Azure side (ARM, Key Vault, RBAC) and the
 * emulated Kubernetes API servers. Each side depends on these types only, never on the other's modules.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

/** What a Secret is stored under, as etcd would record it in the value prefix. */
export type StorageProvider =
  { type: 'identity' } | { type: 'kms-v1'; keyId: string } | { type: 'kms-v2'; keyId: string };

/**
 * A cluster's encryption configuration as kube-apiserver sees it. `keyId`s are versioned Key Vault
 * key ids (`https://<vault>.vault.azure.net/keys/<name>/<version>`).
 */
export interface ClusterEncryption {
  /** The provider every new write (and every rewrite of a stale object) uses. */
  write: StorageProvider;
  /** AKS keeps two key slots; a KMS-encrypted value is readable only when its key id is in one of them. */
  slots: { current?: string; previous?: string };
}

export type SandboxService = 'arm' | 'keyvault' | 'kube';

export interface OperationLogEntry {
  seq: number;
  time: string;
  service: SandboxService;
  method: string;
  /** Request path without query string. */
  path: string;
  status: number;
  /** Optional short description, e.g. "kms enabled key=…/v2"; never Secret data. */
  detail?: string;
}

/** Every mutating call (PUT/POST/PATCH/DELETE) is recorded here, also when it failed. */
export interface OperationRecorder {
  record(entry: Omit<OperationLogEntry, 'seq' | 'time'>): void;
}

export interface FaultContext {
  service: SandboxService;
  method: string;
  path: string;
  /** Cluster name for kube requests. */
  cluster?: string;
}

/** Generic transport faults (429, 5xx, latency, resets). Returns true when it answered the request itself. */
export interface FaultHook {
  intercept(ctx: FaultContext, req: IncomingMessage, res: ServerResponse): Promise<boolean>;
}

/**
 * Lets the Kubernetes side ask Azure whether a cluster's KMS plugin can still use a key version: the key
 * (exists, enabled, not expired), and the plugin's path to it (the vault's network rules in Public mode, the
 * cluster identity, its permission, its tenant). Undefined when usable, else the plugin's error.
 */
export interface KeyUsability {
  keyProblem(keyId: string, cluster?: string): string | undefined;
}
