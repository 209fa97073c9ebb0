/** A single-member etcd on loopback with a private data directory. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { EtcdClient } from '../etcd/etcd-client';
import { freePort, ManagedProcess } from './child-process';

export interface RunningEtcd {
  /** `127.0.0.1:PORT` for gRPC clients. */
  endpoint: string;
  /** `http://127.0.0.1:PORT` for `--etcd-servers`. */
  url: string;
  process: ManagedProcess;
  client: EtcdClient;
  stop(): Promise<void>;
}

export async function startEtcd(binary: string, dir: string): Promise<RunningEtcd> {
  const dataDir = path.join(dir, 'etcd-data');
  fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const [clientPort, peerPort] = [await freePort(), await freePort()];
  const url = `http://127.0.0.1:${clientPort}`;
  const peer = `http://127.0.0.1:${peerPort}`;
  const args = [
    '--name=default',
    `--data-dir=${dataDir}`,
    `--listen-client-urls=${url}`,
    `--advertise-client-urls=${url}`,
    `--listen-peer-urls=${peer}`,
    `--initial-advertise-peer-urls=${peer}`,
    `--initial-cluster=default=${peer}`,
    '--log-level=warn',
    // Test data only: skipping fsync keeps etcd from dominating a shared 2-core machine's disk time.
    '--unsafe-no-fsync',
  ];
  const proc = ManagedProcess.spawn('etcd', binary, args, path.join(dir, 'etcd.log'));
  const endpoint = `127.0.0.1:${clientPort}`;
  const client = new EtcdClient(endpoint);
  try {
    await proc.waitUntil('serving', async () => (await client.currentRevision()) > 0, 30_000);
  } catch (e) {
    client.close();
    await proc.stop();
    throw e;
  }
  return {
    endpoint,
    url,
    process: proc,
    client,
    stop: async () => {
      client.close();
      await proc.stop();
    },
  };
}
