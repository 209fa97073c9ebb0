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
  const informerSynced = firstUnreadableSecret(state) === undefined;
  if (informerSynced && !verbose) return text(200, 'ok');
  // Like the real one: a failing check's reason is withheld, and a failure always lists every check.
  const lines = READYZ_CHECKS.map((name) => (name === 'informer-sync' && !informerSynced ? `[-]${name} failed: reason withheld` : `[+]${name} ok`));
  return text(informerSynced ? 200 : 500, `${lines.join('\n')}\nreadyz check ${informerSynced ? 'passed' : 'failed'}\n`);
}

export const livez = (): Reply => text(200, 'ok');
