/** What every sandbox service module receives: the state, the shared infrastructure and the settings. */
import type { FaultInjector } from './faults';
import type { KubeRegistry } from './kube-registry';
import type { OperationLog } from './oplog';
import type { AzureStore } from './store';

export interface SandboxTiming {
  /** How long an ARM long-running operation stays InProgress. */
  operationDurationMs: number;
  /** Delay between an operation's success and the emulated API server using the new encryption/version. */
  propagationDelayMs: number;
}

export interface SandboxContext {
  store: AzureStore;
  oplog: OperationLog;
  faults: FaultInjector;
  kube: KubeRegistry;
  timing: SandboxTiming;
  port: number;
  caPem: string;
  /** `https://<vault>.vault.azure.net:PORT`, the base of vault URIs and key ids. */
  vaultBaseUrl(vaultName: string): string;
  /** `https://management.azure.com:PORT`. */
  armBaseUrl: string;
  /** Called after any state change (persistence snapshots on it). */
  changed(): void;
  now(): number;
}
