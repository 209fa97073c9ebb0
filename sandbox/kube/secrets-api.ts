/**
 * The Secrets resource: list with limit/continue, get, create, replace, patch, delete, following the
 * apiserver's storage rules. A write stores under the current write provider; an update that changes
 * nothing rewrites the object (new resourceVersion) only when its stored value is stale, otherwise it
 * is short-circuited like etcd3's GuaranteedUpdate.
 */
import { readDeleteOptions, readObject } from './body';
import { decodeContinue, encodeContinue } from './continue-token';
import { describeProvider, isStale } from './encryption';
import { applyPatch } from './patch';
import { header, json, type ApiRequest, type Reply } from './reply';
import {
  contentFromObject,
  dataBytes,
  etcdKeyOf,
  fieldsFor,
  incomingMeta,
  rfc3339,
  sameContent,
  sameData,
  secretJson,
  secretObject,
  type ManagedFieldsEntry,
  type SecretContent,
  type StoredSecret,
} from './secret-record';
import { firstUnreadableSecret, type KubeState } from './state';
import {
  alreadyExists,
  badRequest,
  internalError,
  conflict,
  continueExpired,
  decryptFailed,
  invalid,
  notFound,
  preconditionFailed,
  storageInitializing,
  successStatus,
  terminatingNamespace,
} from './status';

const MAX_SECRET_BYTES = 1024 * 1024;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const CONFIG_KEY = /^[-._a-zA-Z0-9]+$/;

/** Single-object reads report the decrypt error without naming the etcd key (unlike paged lists). */
function ensureReadable(state: KubeState, s: StoredSecret): void {
  const failure = state.readability().failure(s.provider);
  if (failure) throw decryptFailed(undefined, failure);
}

/** The watch cache's initial list: the first Secret (in etcd key order) that cannot be decrypted blocks it. */
function ensureWatchCacheCanInitialize(state: KubeState): void {
  const unreadable = firstUnreadableSecret(state);
  if (unreadable)
    throw storageInitializing(
      etcdKeyOf(unreadable.secret.namespace, unreadable.secret.name),
      unreadable.failure,
    );
}

/**
 * A write needs the current key: once the plugin has failed for longer than the write seed may coast,
 * every write fails, as the real one does.
 */
function ensureEncryptable(state: KubeState): void {
  const write = state.encryption.write;
  if (write.type === 'identity') return;
  const problem = state.keys.keyProblem(write.keyId);
  if (!problem) return state.kmsMemory.writeWorked();
  if (!state.kmsMemory.canCoast())
    throw internalError(`rpc error: code = Unknown desc = failed to encrypt with the KMS plugin: ${problem}`);
}

function ensureNamespaceWritable(state: KubeState, namespace: string, name: string): void {
  if (!state.namespaces.has(namespace)) throw notFound('namespaces', namespace);
  if (state.isTerminating(namespace)) throw terminatingNamespace('secrets', name, namespace);
}

function validate(name: string, content: SecretContent): void {
  if (name.length > 253 || !DNS_SUBDOMAIN.test(name)) {
    throw invalid(
      'Secret',
      name,
      'metadata.name',
      `Invalid value: "${name}": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')`,
    );
  }
  for (const key of content.data.keys()) {
    if (!CONFIG_KEY.test(key)) {
      throw invalid(
        'Secret',
        name,
        `data[${key}]`,
        `Invalid value: "${key}": a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')`,
      );
    }
  }
  if (dataBytes(content) > MAX_SECRET_BYTES)
    throw invalid('Secret', name, 'data', `Too long: must have at most ${MAX_SECRET_BYTES} bytes`);
}

function fieldManager(req: ApiRequest): string {
  return req.query.get('fieldManager') || header(req, 'user-agent').split('/')[0] || 'unknown';
}

function managedEntry(
  manager: string,
  operation: 'Update' | 'Apply',
  content: SecretContent,
  nowMs: number,
): ManagedFieldsEntry {
  return {
    manager,
    operation,
    apiVersion: 'v1',
    time: rfc3339(nowMs),
    fieldsType: 'FieldsV1',
    fieldsV1: fieldsFor(content),
  };
}

function secretReply(status: number, s: StoredSecret, detail: string): Reply {
  return { status, body: secretJson(s, true), contentType: 'application/json', detail };
}

// ---- list ----

export function listSecrets(state: KubeState, namespace: string | undefined, req: ApiRequest): Reply {
  const limit = Math.max(0, Number.parseInt(req.query.get('limit') ?? '0', 10) || 0);
  const token = req.query.get('continue');
  if (limit === 0 && !token) ensureWatchCacheCanInitialize(state);
  const prefix = namespace === undefined ? '' : `${namespace}/`;
  const now = state.now();
  let rv = state.revision;
  let startedAt = now;
  let pagesBefore = 0;
  let fromKey: string | undefined;
  if (token) {
    const c = decodeContinue(token);
    if (c.rv !== -1) {
      const tooOld = now - c.startedAt > state.continueTokenTtlMs;
      const cutOff =
        state.faults.expireContinueAfterPages !== undefined &&
        c.pages >= state.faults.expireContinueAfterPages;
      if (cutOff) state.faultHits.expiredContinue++;
      if (tooOld || cutOff)
        throw continueExpired(encodeContinue({ rv: -1, start: c.start, startedAt: now, pages: 0 }));
      rv = c.rv;
      startedAt = c.startedAt;
      pagesBefore = c.pages;
    }
    fromKey = prefix + c.start;
  }
  const page = state.secrets.page(namespace, fromKey, limit);
  const check = state.readability();
  for (const s of page.items) {
    const failure = check.failure(s.provider);
    // Like etcd3's store with abortOnFirstError: one undecryptable object fails the whole request.
    if (failure) throw decryptFailed(etcdKeyOf(s.namespace, s.name), failure);
  }
  const meta: Record<string, unknown> = { resourceVersion: String(rv) };
  if (page.lastKey !== undefined) {
    meta.continue = encodeContinue({
      rv,
      start: `${page.lastKey.slice(prefix.length)}\u0000`,
      startedAt,
      pages: pagesBefore + 1,
    });
    meta.remainingItemCount = page.remaining;
  }
  const items = page.items.map((s) => secretJson(s, false)).join(',');
  return {
    status: 200,
    contentType: 'application/json',
    body: `{"kind":"SecretList","apiVersion":"v1","metadata":${JSON.stringify(meta)},"items":[${items}]}`,
  };
}

// ---- single objects ----

export function getSecret(state: KubeState, namespace: string, name: string): Reply {
  const s = state.secrets.get(namespace, name);
  if (!s) throw notFound('secrets', name);
  ensureReadable(state, s);
  return secretReply(200, s, 'read');
}

export function createSecret(state: KubeState, namespace: string, req: ApiRequest): Reply {
  const obj = readObject(req, 'Secret');
  const meta = incomingMeta(obj);
  if (meta.namespace !== undefined && meta.namespace !== namespace) {
    throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
  }
  const name = meta.name ?? (meta.generateName ? meta.generateName + state.newUid().slice(0, 5) : undefined);
  if (!name) throw invalid('Secret', '', 'metadata.name', 'Required value: name or generateName is required');
  if (meta.resourceVersion !== undefined)
    throw badRequest('resourceVersion should not be set on objects to be created');
  ensureNamespaceWritable(state, namespace, name);
  if (state.secrets.get(namespace, name)) throw alreadyExists('secrets', name);
  const content = contentFromObject(obj);
  validate(name, content);
  const now = state.now();
  const created: StoredSecret = {
    ...content,
    namespace,
    name,
    uid: state.newUid(),
    resourceVersion: state.nextRevision(),
    creationTimestamp: rfc3339(now),
    managedFields: [managedEntry(fieldManager(req), 'Update', content, now)],
    provider: state.encryption.write,
  };
  ensureEncryptable(state);
  state.secrets.put(created);
  return secretReply(201, created, `created under ${describeProvider(created.provider)}`);
}

export function replaceSecret(state: KubeState, namespace: string, name: string, req: ApiRequest): Reply {
  const obj = readObject(req, 'Secret');
  const meta = incomingMeta(obj);
  if (meta.name !== undefined && meta.name !== name) {
    throw badRequest(`the name of the object (${meta.name}) does not match the name on the URL (${name})`);
  }
  if (meta.namespace !== undefined && meta.namespace !== namespace) {
    throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
  }
  return update(state, namespace, name, () => obj, req, 'Update');
}

export function patchSecret(state: KubeState, namespace: string, name: string, req: ApiRequest): Reply {
  const type = header(req, 'content-type');
  const operation = type.startsWith('application/apply-patch') ? 'Apply' : 'Update';
  return update(
    state,
    namespace,
    name,
    (current) => applyPatch(secretObject(current), type, req.body),
    req,
    operation,
  );
}

/**
 * The shared update path (GuaranteedUpdate): read the stored object (which must decrypt), check
 * preconditions, then write, rewrite a stale value, or short-circuit.
 */
function update(
  state: KubeState,
  namespace: string,
  name: string,
  desired: (current: StoredSecret) => Record<string, unknown>,
  req: ApiRequest,
  operation: 'Update' | 'Apply',
): Reply {
  ensureNamespaceWritable(state, namespace, name);
  const current = state.secrets.get(namespace, name);
  if (!current) throw notFound('secrets', name);
  ensureReadable(state, current);
  const obj = desired(current);
  const meta = incomingMeta(obj);
  if (meta.uid !== undefined && meta.uid !== current.uid)
    throw preconditionFailed('secrets', name, 'UID', meta.uid, current.uid);
  if (meta.resourceVersion !== undefined && meta.resourceVersion !== String(current.resourceVersion))
    throw conflict('secrets', name);
  if (state.rollConflict(namespace, name)) throw conflict('secrets', name);
  const content = contentFromObject(obj);
  validate(name, content);
  if (content.type !== current.type)
    throw invalid('Secret', name, 'type', `Invalid value: "${content.type}": field is immutable`);
  if (current.immutable && (!content.immutable || !sameData(current, content))) {
    throw invalid('Secret', name, 'data', 'Forbidden: field is immutable when `immutable` is set');
  }
  if (sameContent(current, content)) {
    if (!isStale(current.provider, state.encryption))
      return secretReply(200, current, 'short-circuited (already current)');
    ensureEncryptable(state);
    const rewritten: StoredSecret = {
      ...current,
      resourceVersion: state.nextRevision(),
      provider: state.encryption.write,
    };
    state.secrets.put(rewritten);
    return secretReply(
      200,
      rewritten,
      `rewritten from ${describeProvider(current.provider)} to ${describeProvider(rewritten.provider)}`,
    );
  }
  const manager = fieldManager(req);
  const managedFields = (current.managedFields ?? []).filter(
    (m) => m.manager !== manager || m.operation !== operation,
  );
  managedFields.push(managedEntry(manager, operation, content, state.now()));
  ensureEncryptable(state);
  const updated: StoredSecret = {
    namespace,
    name,
    uid: current.uid,
    creationTimestamp: current.creationTimestamp,
    resourceVersion: state.nextRevision(),
    managedFields,
    provider: state.encryption.write,
    type: content.type,
    data: content.data,
  };
  if (content.labels) updated.labels = content.labels;
  if (content.annotations) updated.annotations = content.annotations;
  if (content.immutable !== undefined) updated.immutable = content.immutable;
  state.secrets.put(updated);
  return secretReply(200, updated, `updated under ${describeProvider(updated.provider)}`);
}

export function deleteSecret(state: KubeState, namespace: string, name: string, req: ApiRequest): Reply {
  const current = state.secrets.get(namespace, name);
  if (!current) throw notFound('secrets', name);
  ensureReadable(state, current);
  const pre = readDeleteOptions(req);
  if (pre.uid !== undefined && pre.uid !== current.uid)
    throw preconditionFailed('secrets', name, 'UID', pre.uid, current.uid);
  if (pre.resourceVersion !== undefined && pre.resourceVersion !== String(current.resourceVersion)) {
    throw preconditionFailed(
      'secrets',
      name,
      'ResourceVersion',
      pre.resourceVersion,
      String(current.resourceVersion),
    );
  }
  state.secrets.delete(namespace, name);
  state.nextRevision();
  return json(200, successStatus({ name, kind: 'secrets', uid: current.uid }), 'deleted');
}
