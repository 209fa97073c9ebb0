/**
 * kmsflow's own Secrets in its own namespace: the canary, written before a key change and probed with a
 * no-op update afterwards (its resourceVersion moves only once the API server writes under the new key),
 * and the watermark, whose resourceVersion splits "written after the switch" from "to be rewritten".
 */
import { ApiException, type CoreV1Api, type V1Secret } from '@kubernetes/client-node';
import { toApplicationFailure } from '../errors';
import type { Marker } from './types';

export const MARKER_NAMESPACE = 'kmsflow-system';
const LABELS = { 'app.kubernetes.io/managed-by': 'kmsflow' };

const status = (err: unknown) => (err instanceof ApiException ? err.code : undefined);

async function ensureNamespace(core: CoreV1Api): Promise<void> {
  try {
    await core.readNamespace({ name: MARKER_NAMESPACE });
  } catch (err) {
    if (status(err) !== 404) throw toApplicationFailure(err, `Read namespace ${MARKER_NAMESPACE}`);
    try {
      await core.createNamespace({
        body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: MARKER_NAMESPACE, labels: LABELS } },
      });
    } catch (createErr) {
      if (status(createErr) !== 409)
        throw toApplicationFailure(createErr, `Create namespace ${MARKER_NAMESPACE}`);
    }
  }
}

function markerOf(secret: V1Secret): Marker {
  return {
    namespace: MARKER_NAMESPACE,
    name: secret.metadata!.name!,
    resourceVersion: secret.metadata!.resourceVersion!,
  };
}

/**
 * Writes marker `name` so that its content holds `nonce`: a real write under the current write key.
 * Idempotent: when the marker already holds this nonce (a retried activity), it returns it unchanged.
 */
export async function writeMarker(core: CoreV1Api, name: string, nonce: string): Promise<Marker> {
  await ensureNamespace(core);
  const data = { nonce: Buffer.from(nonce).toString('base64') };
  let existing: V1Secret | undefined;
  try {
    existing = await core.readNamespacedSecret({ name, namespace: MARKER_NAMESPACE });
  } catch (err) {
    if (status(err) !== 404) throw toApplicationFailure(err, `Read marker ${name}`);
  }
  try {
    if (!existing) {
      return markerOf(
        await core.createNamespacedSecret({
          namespace: MARKER_NAMESPACE,
          body: {
            apiVersion: 'v1',
            kind: 'Secret',
            metadata: { name, namespace: MARKER_NAMESPACE, labels: LABELS },
            type: 'Opaque',
            data,
          },
        }),
      );
    }
    if (existing.data?.nonce === data.nonce) return markerOf(existing);
    return markerOf(
      await core.replaceNamespacedSecret({
        name,
        namespace: MARKER_NAMESPACE,
        body: { ...existing, apiVersion: 'v1', kind: 'Secret', data },
      }),
    );
  } catch (err) {
    throw toApplicationFailure(err, `Write marker ${name}`);
  }
}

/**
 * Reads marker `name` back: whether it still holds `nonce` (so it was written by the run that owns the
 * nonce) and its resourceVersion. The nonce is compared here; neither it nor the content leaves.
 */
export async function checkMarker(
  core: CoreV1Api,
  name: string,
  nonce: string,
): Promise<{ holdsNonce: boolean; resourceVersion?: string }> {
  try {
    const secret = await core.readNamespacedSecret({ name, namespace: MARKER_NAMESPACE });
    return {
      holdsNonce: secret.data?.nonce === Buffer.from(nonce).toString('base64'),
      resourceVersion: secret.metadata?.resourceVersion,
    };
  } catch (err) {
    if (status(err) === 404) return { holdsNonce: false };
    throw toApplicationFailure(err, `Read marker ${name}`);
  }
}

/** No-op update of the canary; `switched` when the API server rewrote it, i.e. it writes under a new key now. */
export async function probeCanary(
  core: CoreV1Api,
  canary: Marker,
): Promise<{ switched: boolean; resourceVersion: string }> {
  try {
    const current = await core.readNamespacedSecret({ name: canary.name, namespace: canary.namespace });
    const before = current.metadata!.resourceVersion!;
    if (before !== canary.resourceVersion) return { switched: true, resourceVersion: before };
    const written = await core.replaceNamespacedSecret({
      name: canary.name,
      namespace: canary.namespace,
      body: { ...current, apiVersion: 'v1', kind: 'Secret' },
    });
    const after = written.metadata!.resourceVersion!;
    return { switched: after !== before, resourceVersion: after };
  } catch (err) {
    throw toApplicationFailure(err, `Probe canary ${canary.name}`);
  }
}
