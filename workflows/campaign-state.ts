/**
 * A campaign's state as one run hands it to the next (continue-as-new). Each cluster is a row of small
 * numbers over tables shared by all clusters: the resource-id prefix (subscription and resource group), the
 * reason (a cluster's own id in it is written `{cluster}`), the key. Times are seconds from the campaign's
 * start. Run ids are kept only for procedures still going: the campaign awaits those; the report finds the
 * others through the procedures' KmsCampaign attribute. At 5,000 clusters this stays under 256 KB
 * (test/campaigns/campaign-state.test.ts), an eighth of Temporal's 2 MB payload limit.
 */
import type {
  CampaignClusterState,
  CampaignClusterStatus,
  CampaignProgress,
  CarriedCampaign,
} from './campaign-messages';

/** The statuses by their number in a row. */
const STATUSES: readonly CampaignClusterStatus[] = [
  'pending',
  'waiting-window',
  'waiting-busy',
  'running',
  'waiting-approval',
  'blocked',
  'proven',
  'not-proven',
  'failed',
  'cancelled',
  'skipped',
  'not-started',
  'unhealthy',
];

/** Procedures the campaign still awaits: their run ids are carried. */
export const GOING_STATUSES: readonly CampaignClusterStatus[] = ['running', 'waiting-approval', 'blocked'];

/**
 * A row: `prefix|shared|rest|stage|status|started|took|key|reason|until|runId|name`, fields separated by `|`
 * (no AKS name or run id contains one), trailing empty fields left out. The cluster's name in its resource id
 * is written as the characters it shares with the row before (sorted ids share most) and the rest; `name` only
 * when the display name differs; numbers are table indexes and seconds (`took`: from start to end).
 */
const SEPARATOR = '|';
const CLUSTER_PLACEHOLDER = '{cluster}';

export function carryCampaign(progress: CampaignProgress, counted: ReadonlySet<string>): CarriedCampaign {
  const { clusters, ...rest } = progress;
  const start = Date.parse(progress.startedAt);
  const tables = { prefixes: new Table(), reasons: new Table(), keys: new Table() };
  const stageIndex = new Map(progress.stages.map((s, i) => [s.name, i]));
  const seconds = (iso: string | undefined, from = start) =>
    iso === undefined ? '' : String(Math.round((Date.parse(iso) - from) / 1000));
  let previous = '';
  const rows = clusters.map((c) => {
    const cut = c.clusterId.lastIndexOf('/') + 1;
    const tail = c.clusterId.slice(cut);
    let shared = 0;
    while (shared < Math.min(tail.length, previous.length, 99) && tail[shared] === previous[shared]) shared++;
    previous = tail;
    const fields = [
      tables.prefixes.index(c.clusterId.slice(0, cut)),
      shared,
      tail.slice(shared),
      c.stage === null ? '' : stageIndex.get(c.stage)!,
      STATUSES.indexOf(c.status),
      seconds(c.startedAt),
      c.startedAt ? seconds(c.endedAt, Date.parse(c.startedAt)) : '',
      c.keyId === undefined ? '' : tables.keys.index(c.keyId),
      c.reason === undefined
        ? ''
        : tables.reasons.index(c.reason.split(c.clusterId).join(CLUSTER_PLACEHOLDER)),
      seconds(c.waitUntil),
      c.runId && GOING_STATUSES.includes(c.status) ? c.runId : '',
      c.name === tail ? '' : c.name,
    ].map(String);
    while (fields.at(-1) === '') fields.pop();
    return fields.join(SEPARATOR);
  });
  const countedRows = clusters.flatMap((c, i) => (counted.has(c.clusterId.toLowerCase()) ? [i] : []));
  return {
    format: 'rows-1',
    progress: rest,
    prefixes: tables.prefixes.values,
    reasons: tables.reasons.values,
    keys: tables.keys.values,
    rows,
    counted: countedRows,
  };
}

/** The progress and the clusters that spent the budget, from what the previous run carried. */
export function resumeCampaign(carried: CarriedCampaign | CampaignProgress): {
  progress: CampaignProgress;
  counted: Set<string>;
} {
  // A run of an earlier release carried the progress itself (its budget then counted current failures).
  if (!('format' in carried)) return { progress: carried, counted: new Set() };
  const start = Date.parse(carried.progress.startedAt);
  const time = (s: string | undefined, from = start) =>
    s ? new Date(from + Number(s) * 1000).toISOString() : undefined;
  let previous = '';
  const clusters = carried.rows.map((row): CampaignClusterState => {
    const [prefix, shared, rest, stage, status, started, took, key, reason, until, runId, name] =
      row.split(SEPARATOR);
    const tail = previous.slice(0, Number(shared)) + (rest ?? '');
    previous = tail;
    const clusterId = `${carried.prefixes[Number(prefix)]}${tail}`;
    const c: CampaignClusterState = {
      clusterId,
      name: name || tail,
      stage: stage ? carried.progress.stages[Number(stage)]!.name : null,
      status: STATUSES[Number(status)]!,
    };
    if (reason) c.reason = carried.reasons[Number(reason)]!.split(CLUSTER_PLACEHOLDER).join(clusterId);
    if (key) c.keyId = carried.keys[Number(key)]!;
    const startedAt = time(started);
    if (startedAt) c.startedAt = startedAt;
    const endedAt = startedAt ? time(took, Date.parse(startedAt)) : undefined;
    if (endedAt) c.endedAt = endedAt;
    const waitUntil = time(until);
    if (waitUntil) c.waitUntil = waitUntil;
    if (runId) c.runId = runId;
    return c;
  });
  const counted = new Set(carried.counted.map((i) => clusters[i]!.clusterId.toLowerCase()));
  return { progress: { ...carried.progress, clusters }, counted };
}

/** Distinct strings, each written once and referred to by its index. */
class Table {
  readonly values: string[] = [];
  private readonly indexes = new Map<string, number>();
  index(value: string): number {
    let i = this.indexes.get(value);
    if (i === undefined) {
      i = this.values.push(value) - 1;
      this.indexes.set(value, i);
    }
    return i;
  }
}
