/**
 * /readyz, /livez and /healthz as kube-apiserver answers them. Readiness includes `informer-sync`:
 * the apiserver's own Secret informer must list every Secret, so one Secret it cannot decrypt keeps
 * it not ready (while it stays live). `kms-providers` asks the plugin each time, so it fails as soon as
 * Key Vault refuses the plugin, while cached seeds keep reads working until the API server restarts.
 */
import type { Reply } from './reply';
import { firstUnreadableSecret, type KubeState } from './state';

/** A subset of the real check names, in the real order; `informer-sync` is the one that can fail here. */
const READYZ_CHECKS = ['ping', 'log', 'etcd', 'etcd-readiness', 'kms-providers', 'informer-sync', 'shutdown'];

const text = (status: number, body: string): Reply => ({ status, body, contentType: 'text/plain; charset=utf-8' });

/** KMS v1 wraps one data key per Secret with Key Vault; beyond this many, Key Vault throttles the plugin. */
export const KMS_V1_SECRET_LIMIT = 2_000;

/**
 * Why the KMS plugin's health check fails now, if it does. AKS keeps the plugin (and the key in its
 * current slot) after KMS is disabled, to read what is still encrypted: destroying that key breaks it too.
 */
export function kmsPluginProblem(state: KubeState): string | undefined {
  const current = state.encryption.slots.current;
  if (current === undefined) return undefined;
  const problem = state.keys.keyProblem(current);
  if (problem) return problem;
  let v1Secrets = 0;
  for (const s of state.secrets.values()) if (s.provider.type === 'kms-v1') v1Secrets++;
  if (v1Secrets > KMS_V1_SECRET_LIMIT) {
    return `Key Vault throttles the KMS v1 plugin: ${v1Secrets} Secrets are stored under KMS v1, more than the ${KMS_V1_SECRET_LIMIT} it supports`;
  }
  return undefined;
}

export function readyz(state: KubeState, verbose: boolean): Reply {
  const failing = new Set<string>();
  if (firstUnreadableSecret(state) !== undefined) failing.add('informer-sync');
  if (kmsPluginProblem(state) !== undefined) failing.add('kms-providers');
  else if (state.encryption.write.type !== 'identity') state.kmsMemory.writeWorked();
  if (failing.size === 0 && !verbose) return text(200, 'ok');
  // Like the real one: a failing check's reason is withheld, and a failure always lists every check.
  const lines = READYZ_CHECKS.map((name) => (failing.has(name) ? `[-]${name} failed: reason withheld` : `[+]${name} ok`));
  return text(failing.size === 0 ? 200 : 500, `${lines.join('\n')}\nreadyz check ${failing.size === 0 ? 'passed' : 'failed'}\n`);
}

export const livez = (): Reply => text(200, 'ok');
