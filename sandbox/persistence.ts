/**
 * Optional persistence of a whole sandbox to a directory: `tls.json` (the CA, so kubeconfigs and trusted
 * clients survive a restart) and `state.json` (Azure state, clusters, pending changes, oplog, faults).
 * Saves are debounced after changes and forced on close; writes are atomic (temp file + rename).
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { OperationLogEntry } from './contracts';
import type { FaultRuleState } from './faults';
import type { KubeClusterSnapshot } from './kube/cluster';
import type { PendingKubeChange } from './kube-registry';
import type { AzureState } from './store';
import type { SandboxTlsMaterial } from './tls';

export interface PersistedSandbox {
  version: 1;
  savedAt: string;
  port: number;
  azure: AzureState;
  kube: KubeClusterSnapshot[];
  pendingKube: PendingKubeChange[];
  oplog: OperationLogEntry[];
  faults: { seed: number; rules: FaultRuleState[] };
}

export class SandboxPersistence {
  private timer: NodeJS.Timeout | undefined;
  private timerDueAt = 0;
  private dirty = false;

  constructor(
    readonly dir: string,
    private readonly collect: () => PersistedSandbox,
    private readonly debounceMs = 1_000,
    /** Secret writes come in bursts of thousands and a snapshot serialises every cluster; save them less often. */
    private readonly kubeDebounceMs = 10_000,
  ) {
    mkdirSync(dir, { recursive: true });
  }

  static loadTls(dir: string): Pick<SandboxTlsMaterial, 'caCertPem' | 'caKeyPem'> | undefined {
    const file = join(dir, 'tls.json');
    if (!existsSync(file)) return undefined;
    return JSON.parse(readFileSync(file, 'utf8')) as Pick<SandboxTlsMaterial, 'caCertPem' | 'caKeyPem'>;
  }

  static saveTls(dir: string, tls: SandboxTlsMaterial): void {
    mkdirSync(dir, { recursive: true });
    writeAtomic(
      join(dir, 'tls.json'),
      JSON.stringify({ caCertPem: tls.caCertPem, caKeyPem: tls.caKeyPem }),
      0o600,
    );
  }

  static load(dir: string): PersistedSandbox | undefined {
    const file = join(dir, 'state.json');
    if (!existsSync(file)) return undefined;
    const parsed = JSON.parse(readFileSync(file, 'utf8')) as PersistedSandbox;
    if (parsed.version !== 1)
      throw new Error(`${file}: unsupported sandbox state version ${String(parsed.version)}`);
    return parsed;
  }

  /** Marks the state changed; a save follows after the debounce interval of that kind of change. */
  markDirty(kind: 'azure' | 'kube' = 'azure'): void {
    this.dirty = true;
    const delay = kind === 'azure' ? this.debounceMs : this.kubeDebounceMs;
    const dueAt = Date.now() + delay;
    if (this.timer && this.timerDueAt <= dueAt) return;
    if (this.timer) clearTimeout(this.timer);
    this.timerDueAt = dueAt;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.saveNow();
    }, delay);
    this.timer.unref();
  }

  saveNow(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.dirty = false;
    writeAtomic(join(this.dir, 'state.json'), JSON.stringify(this.collect()), 0o600);
  }

  /** Drops changes not saved yet, as a killed process would. */
  abandon(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.dirty = false;
  }

  /** Saves if anything changed since the last save. */
  flush(): void {
    if (this.dirty) this.saveNow();
    else if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}

function writeAtomic(file: string, content: string, mode: number): void {
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, content, { mode });
  renameSync(tmp, file);
}
