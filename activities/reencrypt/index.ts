import { parseClusterId } from '../../workflows/ids';
import type { ClientFactory } from '../clients';
import { checkMarker, probeCanary, writeMarker } from './markers';
import { processPage } from './page';
import type { Marker, PageInput, PageResult } from './types';

export function createReencryptActivities(clients: ClientFactory) {
  const core = async (clusterId: string) => (await clients.kubernetes(parseClusterId(clusterId))).core;

  return {
    async writeMarker(input: { clusterId: string; name: string; nonce: string }): Promise<Marker> {
      return writeMarker(await core(input.clusterId), input.name, input.nonce);
    },
    async checkMarker(input: { clusterId: string; name: string; nonce: string }): Promise<{ holdsNonce: boolean; resourceVersion?: string }> {
      return checkMarker(await core(input.clusterId), input.name, input.nonce);
    },
    async probeCanary(input: { clusterId: string; canary: Marker }): Promise<{ switched: boolean; resourceVersion: string }> {
      return probeCanary(await core(input.clusterId), input.canary);
    },
    async reencryptPage(input: PageInput): Promise<PageResult> {
      return processPage(await core(input.clusterId), input);
    },
  };
}
