/**
 * A TCP proxy in its own process that delays every chunk the client sends by `latencyMs` (order kept),
 * in front of the sandbox. A request on a kept-alive connection then waits about `latencyMs` once, like a
 * round trip to a remote managed API server; a client that opens a new TLS connection per request also
 * pays the delay for its handshake flights, as it would against a real remote server.
 * (The sandbox's own latency fault rule is not used: with it, kept-alive connections are reset now and
 * then; see docs/benchmarks.md.)
 */
import { createServer, connect, type Socket } from 'node:net';
import { isChild, serveRequests } from './child-process';

export interface ProxyRequest {
  upstreamPort: number;
  latencyMs: number;
}

function relay(client: Socket, upstreamPort: number, latencyMs: number): void {
  const upstream = connect({ port: upstreamPort, host: '127.0.0.1', noDelay: true });
  const close = () => {
    client.destroy();
    upstream.destroy();
  };
  client.on('data', (chunk: Buffer) => {
    setTimeout(() => upstream.write(chunk), latencyMs);
  });
  client.on('end', () => setTimeout(() => upstream.end(), latencyMs));
  upstream.pipe(client);
  client.on('error', close);
  upstream.on('error', close);
  client.on('close', () => setTimeout(() => upstream.destroy(), latencyMs + 5));
}

function serve(): void {
  serveRequests({
    async start(req: ProxyRequest): Promise<number> {
      const server = createServer({ noDelay: true }, (client) =>
        relay(client, req.upstreamPort, req.latencyMs),
      );
      return new Promise((resolve) =>
        server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port)),
      );
    },
  });
}

if (isChild()) serve();
