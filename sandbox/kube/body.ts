/** Decodes a request body into an API object, by Content-Type (JSON, YAML or Kubernetes protobuf). */
import { parse as parseYaml } from 'yaml';
import { decodeProtobufObject } from './protobuf';
import { header, type ApiRequest } from './reply';
import { badRequest, unsupportedMediaType } from './status';

const BODY_TYPES = ['application/json', 'application/yaml', 'application/vnd.kubernetes.protobuf'];

export function readObject(req: ApiRequest, kind: string): Record<string, unknown> {
  const type = (header(req, 'content-type').split(';')[0] ?? '').trim() || 'application/json';
  let obj: unknown;
  try {
    if (type === 'application/json') obj = JSON.parse(req.body.toString('utf8'));
    else if (type === 'application/yaml') obj = parseYaml(req.body.toString('utf8'));
    else if (type === 'application/vnd.kubernetes.protobuf') obj = decodeProtobufObject(req.body);
    else throw unsupportedMediaType(BODY_TYPES);
  } catch (e) {
    if (e instanceof SyntaxError)
      throw badRequest(`${kind} in version "v1" cannot be handled as a ${kind}: ${e.message}`);
    throw e;
  }
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj))
    throw badRequest(`${kind} in version "v1" cannot be handled as a ${kind}: not an object`);
  const o = obj as Record<string, unknown>;
  if (o.kind !== undefined && o.kind !== kind) {
    throw badRequest(
      `${kind} in version "v1" cannot be handled as a ${kind}: the body is a ${String(o.kind)}`,
    );
  }
  return o;
}

/** DeleteOptions of a DELETE body, when present. */
export function readDeleteOptions(req: ApiRequest): { uid?: string; resourceVersion?: string } {
  if (req.body.length === 0) return {};
  try {
    const opts = JSON.parse(req.body.toString('utf8')) as {
      preconditions?: { uid?: string; resourceVersion?: string };
    };
    return opts.preconditions ?? {};
  } catch {
    throw badRequest('DeleteOptions in version "v1" cannot be handled as a DeleteOptions: invalid JSON');
  }
}
