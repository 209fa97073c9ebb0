/** Starting and stopping a whole sandbox: TLS, state (scenario or persisted), server, persistence. */
import type { Server } from 'node:https';
import {
  armEndpoint,
  createSandboxAzureClients,
  SandboxCredential,
  vaultUrl,
  type SandboxAzureClients,
  type SandboxClientTuning,
  type SandboxEndpoints,
} from './client-options';
import type { SandboxPrincipal } from './auth';
import { resumeOperations, stopOperationTimers } from './arm/operations';
import { buildKubeconfig } from './arm/kubeconfig';
import { clusterEncryption } from './arm/kms-encryption';
import type { SandboxContext, SandboxTiming } from './context';
import { writeSandboxEnvFile } from './env-file';
import type { ExternalApiServer } from './external-cluster';
import { FaultInjector, type FaultConfig } from './faults';
import { inspectCluster, inspectSandbox, type ClusterInspection, type SandboxOverview } from './inspect';
import { VaultKeyUsability } from './keyvault/usability';
import type { EmulatedKubeCluster } from './kube/cluster';
import { KubeRegistry } from './kube-registry';
import { OperationLog } from './oplog';
import { SandboxPersistence, type PersistedSandbox } from './persistence';
import { applyScenario, loadScenario, parseScenario, type Scenario, type ScenarioInput } from './scenario';
import { createSandboxServer, listen } from './server';
import { AzureStore } from './store';
import { generateSandboxTls, reissueServerCert, type SandboxTlsMaterial } from './tls';

export interface StartSandboxOptions {
  /** TCP port on 127.0.0.1; 0 = any free port. Default: the persisted port, else 0. */
  port?: number;
  /** `demo`, `empty` (default), a scenario file path, or a scenario object. Ignored when a persisted state is loaded. */
  scenario?: string | ScenarioInput;
  /** Directory for persistence (CA + state); omitted = in memory only. */
  stateDir?: string;
  /** Default 1,000 ms (tests use 100–300, the demo about 2,000). */
  operationDurationMs?: number;
  /** Default 500 ms. */
  propagationDelayMs?: number;
  /** Added to the scenario's faults. */
  faults?: Partial<FaultConfig>;
  /** Debounce of persistence saves after Azure changes, default 1,000 ms. */
  persistDebounceMs?: number;
  /** Debounce after Secret writes, default 10,000 ms (a snapshot serialises every cluster). */
  persistKubeDebounceMs?: number;
}

export interface RunningSandbox {
  port: number;
  endpoints: SandboxEndpoints;
  /** `https://management.azure.com:PORT` */
  armEndpoint: string;
  /** `https://127.0.0.1:PORT/_sandbox` */
  adminUrl: string;
  caPem: string;
  subscriptionId: string;
  tenantId: string;
  /** The scenario's operator principal (what `credential()` acts as by default). */
  operator: SandboxPrincipal;
  context: SandboxContext;
  oplog: OperationLog;
  faults: FaultInjector;
  /** A credential for the operator, or for another principal / identity by name, or an explicit principal. */
  credential(who?: string | SandboxPrincipal, overrides?: Partial<SandboxPrincipal>): SandboxCredential;
  /** Official clients for `credential(who)`. */
  clients(who?: string | SandboxPrincipal, tuning?: SandboxClientTuning): SandboxAzureClients;
  vaultUrl(vaultName: string): string;
  kubeCluster(name: string): EmulatedKubeCluster | undefined;
  /**
   * Backs cluster `name` by an external API server (e.g. a real kube-apiserver) from now on: ARM's
   * credentials point at it and its encryption changes go to it. The emulated API server must hold
   * no Secrets (seed the external one instead). Resolves once `server` applied ARM's current encryption.
   */
  attachExternalCluster(name: string, server: ExternalApiServer): Promise<void>;
  kubeconfig(clusterName: string, kind?: 'user' | 'admin'): string;
  inspectCluster(name: string, opts?: { entries?: boolean }): ClusterInspection | undefined;
  inspect(): SandboxOverview;
  writeEnvFile(path: string): Promise<void>;
  /** Persists now; false without a state directory. */
  snapshot(): Promise<boolean>;
  close(): Promise<void>;
  /**
   * Stops as a killed process would: connections cut mid-answer and nothing saved that the debounced
   * persistence had not saved yet (a restart from the state directory loses those changes).
   */
  crash(): Promise<void>;
}

async function resolveScenario(s: StartSandboxOptions['scenario']): Promise<Scenario> {
  if (s === undefined) return loadScenario('empty');
  if (typeof s === 'string') return loadScenario(s);
  return parseScenario(s);
}

async function tlsFor(stateDir: string | undefined): Promise<SandboxTlsMaterial> {
  const persisted = stateDir ? SandboxPersistence.loadTls(stateDir) : undefined;
  if (persisted) return reissueServerCert(persisted);
  const fresh = await generateSandboxTls();
  if (stateDir) SandboxPersistence.saveTls(stateDir, fresh);
  return fresh;
}

export async function startSandbox(options: StartSandboxOptions = {}): Promise<RunningSandbox> {
  const persisted = options.stateDir ? SandboxPersistence.load(options.stateDir) : undefined;
  const scenario = persisted ? undefined : await resolveScenario(options.scenario);
  const tls = await tlsFor(options.stateDir);

  let persistence: SandboxPersistence | undefined;
  const serverDeps: { ctx?: SandboxContext; snapshot(): Promise<boolean> } = {
    snapshot: async () => {
      if (!persistence) return false;
      persistence.saveNow();
      return true;
    },
  };
  const server: Server = createSandboxServer(tls, serverDeps);
  const port = await listen(server, options.port ?? persisted?.port ?? 0);

  const store = new AzureStore();
  const oplog = persisted ? OperationLog.fromJSON(persisted.oplog) : new OperationLog();
  const faults = new FaultInjector(
    persisted ? { seed: persisted.faults.seed, rules: persisted.faults.rules } : {},
  );
  const timing: SandboxTiming = {
    operationDurationMs: options.operationDurationMs ?? 1_000,
    propagationDelayMs: options.propagationDelayMs ?? 500,
  };
  const kube = new KubeRegistry({ recorder: oplog, faults, keys: new VaultKeyUsability(store) });
  const endpoints: SandboxEndpoints = { port, caPem: tls.caCertPem };
  const ctx: SandboxContext = {
    store,
    oplog,
    faults,
    kube,
    timing,
    port,
    caPem: tls.caCertPem,
    vaultBaseUrl: (name) => vaultUrl(endpoints, name),
    armBaseUrl: armEndpoint(endpoints),
    changed: () => persistence?.markDirty(),
    now: Date.now,
  };

  try {
    if (persisted) restore(ctx, persisted);
    else if (scenario) await applyScenario(ctx, scenario);
    if (options.faults?.rules) for (const rule of options.faults.rules) faults.addRule(rule);
    if (options.faults?.seed !== undefined)
      faults.configure({ seed: options.faults.seed, rules: faults.list() });
  } catch (e) {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    throw e;
  }

  if (options.stateDir) {
    persistence = new SandboxPersistence(
      options.stateDir,
      () => collect(ctx),
      options.persistDebounceMs,
      options.persistKubeDebounceMs,
    );
    oplog.onRecord((entry) => persistence?.markDirty(entry.service === 'kube' ? 'kube' : 'azure'));
    persistence.saveNow();
  }
  serverDeps.ctx = ctx;

  const firstSub = Object.values(store.state.subscriptions)[0];
  if (!firstSub) throw new Error('sandbox: the state has no subscription');
  const operatorName = scenario?.operator ?? 'operator';
  const operatorRecord = store.principal(operatorName) ?? store.state.principals[0];
  const operator: SandboxPrincipal = operatorRecord
    ? {
        objectId: operatorRecord.objectId,
        tenantId: operatorRecord.tenantId,
        clientId: operatorRecord.clientId,
      }
    : { objectId: '00000000-0000-4000-8000-000000000001', tenantId: firstSub.tenantId };

  const principalFor = (
    who: string | SandboxPrincipal | undefined,
    overrides: Partial<SandboxPrincipal> = {},
  ): SandboxPrincipal => {
    if (who === undefined) return { ...operator, ...overrides };
    if (typeof who !== 'string') return { ...who, ...overrides };
    const p = store.principal(who);
    if (p) return { objectId: p.objectId, tenantId: p.tenantId, clientId: p.clientId, ...overrides };
    const identity = store.state.identities.find((i) => i.name === who || i.principalId === who);
    if (identity)
      return {
        objectId: identity.principalId,
        tenantId: identity.tenantId,
        clientId: identity.clientId,
        ...overrides,
      };
    throw new Error(`sandbox: no principal or identity named '${who}'`);
  };

  let closed = false;
  const sandbox: RunningSandbox = {
    port,
    endpoints,
    armEndpoint: armEndpoint(endpoints),
    adminUrl: `https://127.0.0.1:${port}/_sandbox`,
    caPem: tls.caCertPem,
    subscriptionId: firstSub.subscriptionId,
    tenantId: firstSub.tenantId,
    operator,
    context: ctx,
    oplog,
    faults,
    credential: (who, overrides) => new SandboxCredential(principalFor(who, overrides)),
    clients: (who, tuning) =>
      createSandboxAzureClients(
        endpoints,
        new SandboxCredential(principalFor(who)),
        firstSub.subscriptionId,
        tuning,
      ),
    vaultUrl: (name) => vaultUrl(endpoints, name),
    kubeCluster: (name) => kube.get(name),
    attachExternalCluster: async (name, server) => {
      const record = store.clusterByName(name);
      if (!record) throw new Error(`sandbox: no cluster named '${name}'`);
      const held = kube.get(name)?.etcdView().length ?? 0;
      if (held > 0)
        throw new Error(
          `sandbox: cluster '${name}' already holds ${held} emulated Secrets; seed the external API server instead`,
        );
      kube.attachExternal(name, server);
      await server.setEncryption(
        clusterEncryption(record.appliedKms, record.keySlots, record.currentKubernetesVersion),
      );
    },
    kubeconfig: (name, kind = 'user') => {
      const record = store.clusterByName(name);
      if (!record) throw new Error(`sandbox: no cluster named '${name}'`);
      return buildKubeconfig(ctx, record, kind);
    },
    inspectCluster: (name, opts) => inspectCluster(ctx, name, opts),
    inspect: () => inspectSandbox(ctx),
    writeEnvFile: (path) =>
      writeSandboxEnvFile(path, {
        endpoints,
        armEndpoint: armEndpoint(endpoints),
        adminUrl: `https://127.0.0.1:${port}/_sandbox`,
        subscriptionId: firstSub.subscriptionId,
        tenantId: firstSub.tenantId,
        principal: operator,
      }),
    snapshot: serverDeps.snapshot,
    close: async () => {
      if (closed) return;
      closed = true;
      stopOperationTimers(ctx);
      persistence?.flush();
      kube.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
    crash: async () => {
      if (closed) return;
      closed = true;
      persistence?.abandon();
      stopOperationTimers(ctx);
      kube.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return sandbox;
}

function collect(ctx: SandboxContext): PersistedSandbox {
  return {
    version: 1,
    savedAt: new Date().toISOString(),
    port: ctx.port,
    azure: ctx.store.state,
    kube: ctx.kube.snapshots(),
    pendingKube: ctx.kube.pendingChanges(),
    oplog: ctx.oplog.toJSON(),
    faults: ctx.faults.toJSON(),
  };
}

function restore(ctx: SandboxContext, persisted: PersistedSandbox): void {
  ctx.store.state = persisted.azure;
  for (const snapshot of persisted.kube) {
    const record = ctx.store.clusterByName(snapshot.name);
    if (!record) continue;
    ctx.kube.restore(snapshot, record.tokens);
  }
  // Changes that were still propagating when the sandbox stopped take effect now.
  for (const change of persisted.pendingKube) {
    const { applyAt: _applyAt, ...rest } = change;
    ctx.kube.schedule(rest, 0);
  }
  resumeOperations(ctx);
}
