// The re-encryption's own Secrets client against a loopback HTTPS server that answers what no API server would.
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SecretsJsonClient } from '../../activities/reencrypt/secrets-json';
import { generateSandboxTls } from '../../sandbox/tls';

const SECRET_LOOKING_BODY = 'c2VjcmV0LXZhbHVlLWZyb20tYS1wcm94eQ== not JSON';

describe('SecretsJsonClient', () => {
  let server: Server;
  let client: SecretsJsonClient;

  beforeAll(async () => {
    const tls = await generateSandboxTls();
    server = createServer({ cert: tls.serverCertPem, key: tls.serverKeyPem }, (_req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/plain' });
      res.end(SECRET_LOOKING_BODY);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [
        {
          name: 'c',
          server: `https://127.0.0.1:${(server.address() as AddressInfo).port}`,
          caData: Buffer.from(tls.caCertPem).toString('base64'),
        },
      ],
      users: [{ name: 'u', token: 'token' }],
      contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
      currentContext: 'x',
    });
    client = new SecretsJsonClient(kc);
  });

  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('refuses a 200 whose body is not JSON, naming the request and not quoting the body', async () => {
    const failure = await client.list(500, undefined).then(
      () => undefined,
      (err: unknown) => err as Error,
    );
    expect(failure?.message).toBe(
      `GET /api/v1/secrets answered 200 with a body that is not JSON (${SECRET_LOOKING_BODY.length} bytes): is a proxy in front of the API server rewriting its answers?`,
    );
    expect(failure?.message).not.toContain('c2VjcmV0');
  });
});
