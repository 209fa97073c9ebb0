/**
 * Decodes the Kubernetes protobuf envelope (`k8s\0` + runtime.Unknown) that kubectl >= 1.32 sends for
 * `create`, for Secret and Namespace bodies, into the same object shape a JSON body parses to.
 */
import { badRequest } from './status';

const MAGIC = Buffer.from([0x6b, 0x38, 0x73, 0x00]);

type Field = { no: number; wire: number; varint?: number; bytes?: Buffer };

function fields(buf: Buffer): Field[] {
  const out: Field[] = [];
  let pos = 0;
  const varint = (): number => {
    let result = 0;
    let shift = 0;
    for (;;) {
      if (pos >= buf.length) throw badRequest('truncated protobuf body');
      const b = buf[pos++] as number;
      result += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) return result;
      shift += 7;
    }
  };
  while (pos < buf.length) {
    const tag = varint();
    const no = Math.floor(tag / 8);
    const wire = tag & 7;
    if (wire === 0) out.push({ no, wire, varint: varint() });
    else if (wire === 2) {
      const len = varint();
      if (pos + len > buf.length) throw badRequest('truncated protobuf body');
      out.push({ no, wire, bytes: buf.subarray(pos, pos + len) });
      pos += len;
    } else if (wire === 1) pos += 8;
    else if (wire === 5) pos += 4;
    else throw badRequest(`unsupported protobuf wire type ${wire}`);
  }
  return out;
}

const str = (f: Field): string => (f.bytes ?? Buffer.alloc(0)).toString('utf8');

function mapEntry(buf: Buffer): [string, Buffer] {
  let key = '';
  let value: Buffer = Buffer.alloc(0);
  for (const f of fields(buf)) {
    if (f.no === 1 && f.bytes) key = str(f);
    if (f.no === 2 && f.bytes) value = f.bytes;
  }
  return [key, value];
}

function objectMeta(buf: Buffer): Record<string, unknown> {
  const meta: Record<string, unknown> = {};
  const names: Record<number, string> = {
    1: 'name',
    2: 'generateName',
    3: 'namespace',
    5: 'uid',
    6: 'resourceVersion',
  };
  for (const f of fields(buf)) {
    const name = names[f.no];
    if (name && f.bytes) meta[name] = str(f);
    else if ((f.no === 11 || f.no === 12) && f.bytes) {
      const target = f.no === 11 ? 'labels' : 'annotations';
      const [k, v] = mapEntry(f.bytes);
      ((meta[target] ??= {}) as Record<string, string>)[k] = v.toString('utf8');
    } else if (f.no === 14 && f.bytes) ((meta.finalizers ??= []) as string[]).push(str(f));
  }
  return meta;
}

function secret(buf: Buffer): Record<string, unknown> {
  const obj: Record<string, unknown> = { kind: 'Secret', apiVersion: 'v1' };
  for (const f of fields(buf)) {
    if (f.no === 1 && f.bytes) obj.metadata = objectMeta(f.bytes);
    else if (f.no === 2 && f.bytes) {
      const [k, v] = mapEntry(f.bytes);
      ((obj.data ??= {}) as Record<string, string>)[k] = v.toString('base64');
    } else if (f.no === 3 && f.bytes) obj.type = str(f);
    else if (f.no === 4 && f.bytes) {
      const [k, v] = mapEntry(f.bytes);
      ((obj.stringData ??= {}) as Record<string, string>)[k] = v.toString('utf8');
    } else if (f.no === 5 && f.varint !== undefined) obj.immutable = f.varint !== 0;
  }
  return obj;
}

function namespace(buf: Buffer): Record<string, unknown> {
  const obj: Record<string, unknown> = { kind: 'Namespace', apiVersion: 'v1' };
  for (const f of fields(buf)) if (f.no === 1 && f.bytes) obj.metadata = objectMeta(f.bytes);
  return obj;
}

export function decodeProtobufObject(body: Buffer): Record<string, unknown> {
  if (body.length < 4 || !body.subarray(0, 4).equals(MAGIC))
    throw badRequest('protobuf body does not start with the k8s envelope prefix');
  let kind = '';
  let raw: Buffer | undefined;
  for (const f of fields(body.subarray(4))) {
    if (f.no === 1 && f.bytes) for (const t of fields(f.bytes)) if (t.no === 2) kind = str(t);
    if (f.no === 2 && f.bytes) raw = f.bytes;
  }
  if (!raw) throw badRequest('protobuf envelope carries no object');
  if (kind === 'Secret') return secret(raw);
  if (kind === 'Namespace') return namespace(raw);
  throw badRequest(`protobuf bodies of kind "${kind}" are not supported by this server`);
}
