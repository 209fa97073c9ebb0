import { parseClusterId } from '../../model/ids';
import type { ClientFactory } from '../clients';
import { checkMarker, probeCanary, writeMarker } from './markers';
import { activityInfo, Context, heartbeat } from '@temporalio/activity';
import { processPage } from './page';
import { processPages, type PagesHeartbeat, type PagesInput, type PagesResult } from './pages';
import type { Marker, PageHeartbeat, PageInput, PageResult } from './types';

export function createReencryptActivities(clients: ClientFactory) {
  const core = async (clusterId: string) => (await clients.kubernetes(parseClusterId(clusterId))).core;
  const secrets = async (clusterId: string) => (await clients.kubernetes(parseClusterId(clusterId))).secrets;

  return {
    async writeMarker(input: { clusterId: string; name: string; nonce: string }): Promise<Marker> {
      return writeMarker(await core(input.clusterId), input.name, input.nonce);
    },
    async checkMarker(input: {
      clusterId: string;
      name: string;
      nonce: string;
    }): Promise<{ holdsNonce: boolean; resourceVersion?: string }> {
      return checkMarker(await core(input.clusterId), input.name, input.nonce);
    },
    async probeCanary(input: {
      clusterId: string;
      canary: Marker;
    }): Promise<{ switched: boolean; resourceVersion: string }> {
      return probeCanary(await core(input.clusterId), input.canary);
    },
    /** One page per activity: kept for re-encryptions recorded before pages were batched. */
    async reencryptPage(input: PageInput): Promise<PageResult> {
      const resumed = activityInfo().heartbeatDetails as PageHeartbeat | undefined;
      return processPage(await secrets(input.clusterId), input, {
        resumed,
        beat: heartbeat,
        signal: Context.current().cancellationSignal,
      });
    },
    async reencryptPages(input: PagesInput): Promise<PagesResult> {
      const resumed = activityInfo().heartbeatDetails as PagesHeartbeat | undefined;
      return processPages(await secrets(input.clusterId), input, {
        resumed,
        beat: heartbeat,
        signal: Context.current().cancellationSignal,
      });
    },
  };
}
