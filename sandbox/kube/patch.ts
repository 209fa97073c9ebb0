/**
 * The patch types the apiserver accepts for Secrets. Strategic merge behaves like a JSON merge patch
 * for a Secret's fields (all maps or scalars); server-side apply is approximated as a merge that never
 * deletes (field ownership is not modelled).
 */
import { badRequest, invalid, unsupportedMediaType } from './status';
import { parse as parseYaml } from 'yaml';

export const PATCH_TYPES = [
  'application/json-patch+json',
  'application/merge-patch+json',
  'application/strategic-merge-patch+json',
  'application/apply-patch+yaml',
];

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
const isObject = (v: unknown): v is Record<string, Json> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

function mergePatch(target: Json, patch: Json, deleteOnNull: boolean): Json {
  if (!isObject(patch)) return patch;
  const out: Record<string, Json> = isObject(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null && deleteOnNull) delete out[k];
    else out[k] = mergePatch(out[k] ?? null, v, deleteOnNull);
  }
  return out;
}

function pointer(path: string): string[] {
  if (path === '') return [];
  if (!path.startsWith('/')) throw badRequest(`json patch path "${path}" must start with "/"`);
  return path
    .slice(1)
    .split('/')
    .map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function parentOf(
  doc: Json,
  tokens: string[],
  path: string,
): { parent: Record<string, Json> | Json[]; last: string } {
  let cur: Json = doc;
  for (const t of tokens.slice(0, -1)) {
    const next: Json | undefined = Array.isArray(cur) ? cur[Number(t)] : isObject(cur) ? cur[t] : undefined;
    if (next === undefined) throw invalidPatch(`doc is missing path: "${path}"`);
    cur = next;
  }
  if (!Array.isArray(cur) && !isObject(cur)) throw invalidPatch(`doc is missing path: "${path}"`);
  return { parent: cur, last: tokens[tokens.length - 1] as string };
}

const invalidPatch = (why: string) => invalid('Secret', '', 'patch', why);

function getAt(doc: Json, path: string): Json {
  let cur: Json = doc;
  for (const t of pointer(path)) {
    const next: Json | undefined = Array.isArray(cur) ? cur[Number(t)] : isObject(cur) ? cur[t] : undefined;
    if (next === undefined) throw invalidPatch(`doc is missing path: "${path}"`);
    cur = next;
  }
  return cur;
}

function removeAt(doc: Json, path: string): Json {
  const { parent, last } = parentOf(doc, pointer(path), path);
  if (Array.isArray(parent)) return parent.splice(Number(last), 1)[0] as Json;
  if (!(last in parent)) throw invalidPatch(`unable to remove nonexistent key: ${last}: missing value`);
  const v = parent[last] as Json;
  delete parent[last];
  return v;
}

function addAt(doc: Json, path: string, value: Json, replace: boolean): Json {
  const tokens = pointer(path);
  if (tokens.length === 0) return value;
  const { parent, last } = parentOf(doc, tokens, path);
  if (Array.isArray(parent)) {
    const i = last === '-' ? parent.length : Number(last);
    if (replace) parent[i] = value;
    else parent.splice(i, 0, value);
  } else {
    if (replace && !(last in parent))
      throw invalidPatch(`replace operation does not apply: doc is missing key: ${path}`);
    parent[last] = value;
  }
  return doc;
}

function jsonPatch(doc: Json, ops: unknown): Json {
  if (!Array.isArray(ops)) throw badRequest('json patch must be a list of operations');
  let out: Json = structuredClone(doc);
  for (const op of ops as Record<string, Json>[]) {
    const path = String(op.path ?? '');
    switch (op.op) {
      case 'add':
        out = addAt(out, path, op.value ?? null, false);
        break;
      case 'replace':
        out = addAt(out, path, op.value ?? null, true);
        break;
      case 'remove':
        removeAt(out, path);
        break;
      case 'move':
        out = addAt(out, path, removeAt(out, String(op.from)), false);
        break;
      case 'copy':
        out = addAt(out, path, structuredClone(getAt(out, String(op.from))), false);
        break;
      case 'test':
        if (JSON.stringify(getAt(out, path)) !== JSON.stringify(op.value))
          throw invalidPatch(`testing value ${path} failed: test failed`);
        break;
      default:
        throw badRequest(`Unexpected kind: ${String(op.op)}`);
    }
  }
  return out;
}

/** Applies a patch body of the given Content-Type to an object and returns the patched object. */
export function applyPatch(
  current: Record<string, unknown>,
  contentType: string,
  body: Buffer,
): Record<string, unknown> {
  const type = contentType.split(';')[0]?.trim() ?? '';
  if (!PATCH_TYPES.includes(type)) throw unsupportedMediaType(PATCH_TYPES);
  let patch: unknown;
  try {
    patch =
      type === 'application/apply-patch+yaml'
        ? parseYaml(body.toString('utf8'))
        : JSON.parse(body.toString('utf8'));
  } catch (e) {
    throw badRequest(`error decoding patch: ${(e as Error).message.split('\n')[0]}`);
  }
  const result =
    type === 'application/json-patch+json'
      ? jsonPatch(current as Json, patch)
      : mergePatch(current as Json, patch as Json, type !== 'application/apply-patch+yaml');
  if (!isObject(result)) throw badRequest('the patched document is not an object');
  return result;
}
