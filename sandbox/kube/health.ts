/**
 * /readyz, /livez and /healthz as kube-apiserver answers them. Readiness includes `informer-sync`:
 * the apiserver's own Secret informer must list every Secret, so one Secret it cannot decrypt keeps
 * it not ready (while it stays live). The emulator has no process to restart: every encryption
 * change counts as the restart with which AKS applies it.
 */
import type { Reply } from './reply';
import { firstUnreadableSecret, type KubeState } from './state';

/** A subset of the real check names, in the real order; `informer-sync` is the one that can fail here. */
const READYZ_CHECKS = ['ping', 'log', 'etcd', 'etcd-readiness', 'kms-providers', 'informer-sync', 'shutdown'];

const text = (status: number, body: string): Reply => ({ status, body, contentType: 'text/plain; charset=utf-8' });

export function readyz(state: KubeState, verbose: boolean): Reply {
  const write = state.encryption.write;
  const failing = new Set<string>();
  if (firstUnreadableSecret(state) !== undefined) failing.add('informer-sync');
  // The KMS plugin's health check encrypts with the current key.
  if (write.type !== 'identity' && state.keys.keyProblem(write.keyId)) failing.add('kms-providers');
  if (failing.size === 0 && !verbose) return text(200, 'ok');
  // Like the real one: a failing check's reason is withheld, and a failure always lists every check.
  const lines = READYZ_CHECKS.map((name) => (failing.has(name) ? `[-]${name} failed: reason withheld` : `[+]${name} ok`));
  return text(failing.size === 0 ? 200 : 500, `${lines.join('\n')}\nreadyz check ${failing.size === 0 ? 'passed' : 'failed'}\n`);
}

export const livez = (): Reply => text(200, 'ok');
