/**
 * The codec endpoint the Temporal Web UI (and `temporal --codec-endpoint`) calls to show encrypted payloads:
 * POST /decode and /encode with `{"payloads": [{"metadata": {k: base64}, "data": base64}]}`, answered in the
 * same shape. CORS lets the UI's origin call it from the browser. Loopback only by default.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Payload, PayloadCodec } from '@temporalio/common';

export interface CodecServerOptions {
  codec: PayloadCodec;
  port?: number;
  host?: string;
  /**
   * Origins allowed to call from a browser (the Web UI's URL). No other page may: the endpoint decrypts
   * whatever it is sent, so any page allowed could decrypt ciphertext read from the Temporal service.
   */
  allowedOrigins: readonly string[];
}

export interface RunningCodecServer {
  url: string;
  close(): Promise<void>;
}

interface JsonPayload {
  metadata?: Record<string, string>;
  data?: string;
}

const fromJson = (p: JsonPayload): Payload => ({
  metadata: Object.fromEntries(
    Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64')]),
  ),
  data: Buffer.from(p.data ?? '', 'base64'),
});

const toJson = (p: Payload): JsonPayload => ({
  metadata: Object.fromEntries(
    Object.entries(p.metadata ?? {}).map(([k, v]) => [
      k,
      Buffer.from(v ?? new Uint8Array()).toString('base64'),
    ]),
  ),
  data: Buffer.from(p.data ?? new Uint8Array()).toString('base64'),
});

async function readBody(req: http.IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export async function startCodecServer(options: CodecServerOptions): Promise<RunningCodecServer> {
  const allowed = options.allowedOrigins;
  const server = http.createServer(async (req, res) => {
    const origin = req.headers.origin;
    if (origin && allowed.includes(origin)) {
      res.setHeader('Access-Control-Allow-Origin', origin);
      res.setHeader('Access-Control-Allow-Credentials', 'true');
      res.setHeader('Access-Control-Allow-Methods', 'POST, OPTIONS');
      res.setHeader('Access-Control-Allow-Headers', 'Content-Type, X-Namespace, Authorization');
      res.setHeader('Vary', 'Origin');
    }
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (req.method === 'OPTIONS') return void res.writeHead(204).end();
    const path = (req.url ?? '').split('?')[0];
    if (req.method !== 'POST' || (path !== '/decode' && path !== '/encode'))
      return send(404, { message: 'POST /decode or /encode' });
    try {
      const { payloads } = JSON.parse(await readBody(req)) as { payloads?: JsonPayload[] };
      if (!Array.isArray(payloads)) return send(400, { message: 'the body must be {"payloads": [...]}' });
      const input = payloads.map(fromJson);
      const output =
        path === '/decode' ? await options.codec.decode(input) : await options.codec.encode(input);
      send(200, { payloads: output.map(toJson) });
    } catch (err) {
      send(400, { message: err instanceof Error ? err.message : String(err) });
    }
  });
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${host}:${port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
