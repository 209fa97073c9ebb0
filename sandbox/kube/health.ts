/**
 * /readyz, /livez and /healthz as kube-apiserver answers them. Readiness includes `informer-sync`:
 * the apiserver's own Secret informer must list every Secret, so one Secret it cannot decrypt keeps
 * it not ready (while it stays live). `kms-providers` is the plugin's last health check (a good one is
 * reused for a minute, a failed one for 10 s), while cached seeds keep reads working until a restart.
 */
import type { Reply } from './reply';
import { firstUnreadableSecret, type KubeState } from './state';

/** A subset of the real check names, in the real order; `informer-sync` is the one that can fail here. */
const READYZ_CHECKS = ['ping', 'log', 'etcd', 'etcd-readiness', 'kms-providers', 'informer-sync', 'shutdown'];

const text = (status: number, body: string): Reply => ({
  status,
  body,
  contentType: 'text/plain; charset=utf-8',
});

export function readyz(state: KubeState, verbose: boolean): Reply {
  const failing = new Set<string>();
  if (firstUnreadableSecret(state) !== undefined) failing.add('informer-sync');
  if (state.kmsPluginCheck() !== undefined) failing.add('kms-providers');
  if (failing.size === 0 && !verbose) return text(200, 'ok');
  // Like the real one: a failing check's reason is withheld, and a failure always lists every check.
  const lines = READYZ_CHECKS.map((name) =>
    failing.has(name) ? `[-]${name} failed: reason withheld` : `[+]${name} ok`,
  );
  return text(
    failing.size === 0 ? 200 : 500,
    `${lines.join('\n')}\nreadyz check ${failing.size === 0 ? 'passed' : 'failed'}\n`,
  );
}

export const livez = (): Reply => text(200, 'ok');
