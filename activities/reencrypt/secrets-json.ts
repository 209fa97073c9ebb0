/**
 * The three Secret requests of a re-encryption page (list a page, no-op PUT, re-read after a conflict) as
 * plain JSON over the kubeconfig's own credentials, TLS settings and keep-alive agent, all from
 * client-node's `KubeConfig.applyToHTTPSOptions`. At the API server's limit the generated client's request
 * pipeline and model (de)serialisation cost about a quarter of the rate (`npm run bench -- client-overhead`),
 * and a page needs nothing but the JSON the API server sent: PUTting back exactly that JSON is also what
 * `kubectl replace` does. Failures are client-node's own `ApiException`, so error handling is the same.
 */
import { ApiException, type KubeConfig } from '@kubernetes/client-node';
import { request, type RequestOptions } from 'node:https';

/** A Secret as the API server sends it; its data is never looked at, only sent back. */
export interface SecretJson {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; namespace?: string; resourceVersion?: string };
  [field: string]: unknown;
}

export interface SecretListJson {
  items: SecretJson[];
  metadata?: { continue?: string; remainingItemCount?: number; resourceVersion?: string };
}

export interface SecretsApi {
  list(limit: number, continueToken: string | undefined): Promise<SecretListJson>;
  replace(secret: SecretJson): Promise<SecretJson>;
  read(namespace: string, name: string): Promise<SecretJson>;
}

interface Answer {
  status: number;
  headers: Record<string, string>;
  text: string;
}

export class SecretsJsonClient implements SecretsApi {
  private readonly base: URL;

  constructor(private readonly config: KubeConfig) {
    const server = config.getCurrentCluster()?.server;
    if (!server) throw new Error('the kubeconfig names no cluster server');
    this.base = new URL(server.endsWith('/') ? server : `${server}/`);
  }

  async list(limit: number, continueToken: string | undefined): Promise<SecretListJson> {
    const query = new URLSearchParams({ limit: String(limit) });
    if (continueToken) query.set('continue', continueToken);
    return (await this.call('GET', `api/v1/secrets?${query.toString()}`)) as SecretListJson;
  }

  async replace(secret: SecretJson): Promise<SecretJson> {
    const { namespace = '', name = '' } = secret.metadata ?? {};
    const body = JSON.stringify({ ...secret, apiVersion: 'v1', kind: 'Secret' });
    return (await this.call('PUT', `${secretPath(namespace, name)}`, body)) as SecretJson;
  }

  async read(namespace: string, name: string): Promise<SecretJson> {
    return (await this.call('GET', secretPath(namespace, name))) as SecretJson;
  }

  private async call(method: string, path: string, body?: string): Promise<unknown> {
    const url = new URL(path, this.base);
    const options: RequestOptions = {
      method,
      hostname: url.hostname,
      port: url.port || 443,
      path: `${url.pathname}${url.search}`,
      headers: {
        Accept: 'application/json',
        ...(body !== undefined
          ? { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) }
          : {}),
      },
    };
    // Credentials (token, exec plugin, client certificate) and the agent, as every client-node call gets them.
    await this.config.applyToHTTPSOptions(options);
    const answer = await send(options, body);
    if (answer.status < 200 || answer.status > 299) {
      throw new ApiException(
        answer.status,
        `HTTP-Code: ${answer.status}\nMessage: ${method} ${url.pathname} failed`,
        answer.text,
        answer.headers,
      );
    }
    try {
      return JSON.parse(answer.text);
    } catch {
      // Not the parser's message: it quotes the start of the body, which may be a Secret's.
      throw new Error(
        `${method} ${url.pathname} answered ${answer.status} with a body that is not JSON (${Buffer.byteLength(answer.text)} bytes): is a proxy in front of the API server rewriting its answers?`,
      );
    }
  }
}

const secretPath = (namespace: string, name: string) =>
  `api/v1/namespaces/${encodeURIComponent(namespace)}/secrets/${encodeURIComponent(name)}`;

function send(options: RequestOptions, body: string | undefined): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(options, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const headers: Record<string, string> = {};
        for (const [k, v] of Object.entries(res.headers))
          if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(', ') : v;
        resolve({ status: res.statusCode ?? 0, headers, text: Buffer.concat(chunks).toString('utf8') });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}
