import { Client, Connection } from '@temporalio/client';
import { loadClientConnectConfig } from '@temporalio/envconfig';
import type { NativeConnectionOptions } from '@temporalio/worker';
import { dataConverterFromEnvironment } from './payload-codec';

export interface TemporalTarget {
  connectionOptions: NativeConnectionOptions;
  namespace: string;
}

/**
 * Where Temporal is, from the ecosystem's standard settings: TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE,
 * TEMPORAL_API_KEY, TEMPORAL_TLS*, TEMPORAL_PROFILE and the TOML config file. Defaults to localhost:7233.
 */
export function temporalTargetFromEnvironment(profile?: string): TemporalTarget {
  const config = loadClientConnectConfig({ profile });
  return {
    connectionOptions: { address: 'localhost:7233', ...config.connectionOptions },
    namespace: config.namespace ?? 'default',
  };
}

export async function connectClient(target: TemporalTarget): Promise<Client> {
  const connection = await Connection.connect(target.connectionOptions);
  // With KMSFLOW_CODEC_KEY(_FILE) set, payloads are encrypted as the workers encrypt them.
  return new Client({
    connection,
    namespace: target.namespace,
    dataConverter: dataConverterFromEnvironment(),
  });
}
