/**
 * How the emulator holds one Secret (values as Buffers, often views into a shared pool) and its
 * conversions to and from the API's JSON shape.
 */
import type { StorageProvider } from '../contracts';
import { badRequest } from './status';

export interface ManagedFieldsEntry {
  manager: string;
  operation: 'Update' | 'Apply';
  apiVersion: 'v1';
  time: string;
  fieldsType: 'FieldsV1';
  fieldsV1: Record<string, unknown>;
}

/** The parts of a Secret a write can change; equal content means an update is a no-op. */
export interface SecretContent {
  type: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  immutable?: boolean;
  /** Keys in sorted order, like Go's JSON encoding of a map. */
  data: Map<string, Buffer>;
}

export interface StoredSecret extends SecretContent {
  namespace: string;
  name: string;
  uid: string;
  /** The etcd mod revision of the last real write. */
  resourceVersion: number;
  creationTimestamp: string;
  managedFields?: ManagedFieldsEntry[];
  /** What the value in etcd is encrypted with (the `k8s:enc:…` prefix and KMS key id). */
  provider: StorageProvider;
}

/** What the request body says about an object's identity and preconditions. */
export interface IncomingMeta {
  name?: string;
  generateName?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
}

export const etcdKeyOf = (namespace: string, name: string): string =>
  `/registry/secrets/${namespace}/${name}`;

export function rfc3339(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function sortedRecord(value: unknown, field: string): Record<string, string> | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'object' || Array.isArray(value))
    throw badRequest(
      `Secret in version "v1" cannot be handled as a Secret: ${field} must be a map of strings`,
    );
  const keys = Object.keys(value).sort();
  if (keys.length === 0) return undefined;
  const out: Record<string, string> = {};
  for (const k of keys) {
    const v = (value as Record<string, unknown>)[k];
    if (typeof v !== 'string')
      throw badRequest(
        `Secret in version "v1" cannot be handled as a Secret: ${field}.${k} must be a string`,
      );
    out[k] = v;
  }
  return out;
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** Decodes the writable content of a Secret from its JSON object form (data base64, stringData plain). */
export function contentFromObject(obj: Record<string, unknown>): SecretContent {
  const meta = (obj.metadata ?? {}) as Record<string, unknown>;
  const rawData = (obj.data ?? {}) as Record<string, unknown>;
  if (typeof rawData !== 'object' || Array.isArray(rawData))
    throw badRequest('Secret in version "v1" cannot be handled as a Secret: data must be a map');
  const values = new Map<string, Buffer>();
  for (const [key, value] of Object.entries(rawData)) {
    if (value === null) continue;
    if (typeof value !== 'string' || value.length % 4 !== 0 || !BASE64.test(value)) {
      throw badRequest(
        `Secret in version "v1" cannot be handled as a Secret: illegal base64 data in data.${key}`,
      );
    }
    values.set(key, Buffer.from(value, 'base64'));
  }
  const stringData = obj.stringData as Record<string, unknown> | undefined;
  if (stringData && typeof stringData === 'object') {
    for (const [key, value] of Object.entries(stringData)) {
      if (typeof value === 'string') values.set(key, Buffer.from(value, 'utf8'));
    }
  }
  const data = new Map<string, Buffer>();
  for (const key of [...values.keys()].sort()) data.set(key, values.get(key) as Buffer);
  const content: SecretContent = {
    type: typeof obj.type === 'string' && obj.type !== '' ? obj.type : 'Opaque',
    data,
  };
  const labels = sortedRecord(meta.labels, 'metadata.labels');
  const annotations = sortedRecord(meta.annotations, 'metadata.annotations');
  if (labels) content.labels = labels;
  if (annotations) content.annotations = annotations;
  if (obj.immutable === true || obj.immutable === false) content.immutable = obj.immutable;
  return content;
}

export function incomingMeta(obj: Record<string, unknown>): IncomingMeta {
  const meta = (obj.metadata ?? {}) as Record<string, unknown>;
  const pick = (k: string): string | undefined =>
    typeof meta[k] === 'string' && meta[k] !== '' ? (meta[k] as string) : undefined;
  const out: IncomingMeta = {};
  for (const k of ['name', 'generateName', 'namespace', 'uid', 'resourceVersion'] as const) {
    const v = pick(k);
    if (v !== undefined) out[k] = v;
  }
  return out;
}

function sameRecord(a: Record<string, string> | undefined, b: Record<string, string> | undefined): boolean {
  if (a === b) return true;
  const ka = a ? Object.keys(a) : [];
  const kb = b ? Object.keys(b) : [];
  if (ka.length !== kb.length) return false;
  for (const k of ka) if ((a as Record<string, string>)[k] !== b?.[k]) return false;
  return true;
}

/** True when writing `next` over `current` would not change the stored object (resourceVersion and managedFields aside). */
export function sameContent(current: SecretContent, next: SecretContent): boolean {
  if (current.type !== next.type || (current.immutable ?? false) !== (next.immutable ?? false)) return false;
  if (!sameRecord(current.labels, next.labels) || !sameRecord(current.annotations, next.annotations))
    return false;
  return sameData(current, next);
}

export function sameData(a: SecretContent, b: SecretContent): boolean {
  if (a.data.size !== b.data.size) return false;
  for (const [k, v] of a.data) {
    const other = b.data.get(k);
    if (!other || !other.equals(v)) return false;
  }
  return true;
}

/** Approximate size of the stored value: data, keys, labels and annotations. */
export function contentBytes(c: SecretContent): number {
  let n = c.type.length;
  for (const [k, v] of c.data) n += k.length + v.length;
  for (const r of [c.labels, c.annotations])
    if (r) for (const k in r) n += k.length + (r[k] as string).length;
  return n;
}

export function dataBytes(c: SecretContent): number {
  let n = 0;
  for (const [k, v] of c.data) n += k.length + v.length;
  return n;
}

export function fieldsFor(c: SecretContent): Record<string, unknown> {
  const data: Record<string, unknown> = { '.': {} };
  for (const k of c.data.keys()) data[`f:${k}`] = {};
  const fields: Record<string, unknown> = {};
  if (c.data.size > 0) fields['f:data'] = data;
  if (c.labels || c.annotations) {
    const meta: Record<string, unknown> = {};
    for (const [name, r] of [
      ['f:annotations', c.annotations],
      ['f:labels', c.labels],
    ] as const) {
      if (!r) continue;
      const f: Record<string, unknown> = { '.': {} };
      for (const k of Object.keys(r)) f[`f:${k}`] = {};
      meta[name] = f;
    }
    fields['f:metadata'] = meta;
  }
  fields['f:type'] = {};
  return fields;
}

function metadataOf(s: StoredSecret, withManagedFields: boolean): Record<string, unknown> {
  const meta: Record<string, unknown> = {
    name: s.name,
    namespace: s.namespace,
    uid: s.uid,
    resourceVersion: String(s.resourceVersion),
    creationTimestamp: s.creationTimestamp,
  };
  if (s.labels) meta.labels = s.labels;
  if (s.annotations) meta.annotations = s.annotations;
  if (withManagedFields && s.managedFields) meta.managedFields = s.managedFields;
  return meta;
}

/** JSON of one Secret, written by hand so values go straight from Buffer to base64 without an intermediate object. */
export function secretJson(s: StoredSecret, withTypeMeta: boolean): string {
  let out = withTypeMeta ? '{"kind":"Secret","apiVersion":"v1","metadata":' : '{"metadata":';
  out += JSON.stringify(metadataOf(s, true));
  if (s.immutable !== undefined) out += `,"immutable":${s.immutable}`;
  if (s.data.size > 0) {
    out += ',"data":{';
    let first = true;
    for (const [k, v] of s.data) {
      out += `${first ? '' : ','}${JSON.stringify(k)}:"${v.toString('base64')}"`;
      first = false;
    }
    out += '}';
  }
  return `${out},"type":${JSON.stringify(s.type)}}`;
}

/** The API object form of a stored Secret (data base64), the starting point of a patch. */
export function secretObject(s: StoredSecret): Record<string, unknown> {
  const obj: Record<string, unknown> = { kind: 'Secret', apiVersion: 'v1', metadata: metadataOf(s, true) };
  if (s.immutable !== undefined) obj.immutable = s.immutable;
  if (s.data.size > 0) {
    const data: Record<string, string> = {};
    for (const [k, v] of s.data) data[k] = v.toString('base64');
    obj.data = data;
  }
  obj.type = s.type;
  return obj;
}
