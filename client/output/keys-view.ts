/** Human rendering of `keys`: the key ledger of one cluster. */
import { formatTime, table } from './format';
import { shortKey } from './plan-view';
import type { AzureKeysView, KeyRecordView, KeysResult } from './shapes';
import type { Style } from './style';

function stateWord(k: KeyRecordView, style: Style): string {
  if (k.state === 'retired') return style.dim(`retired (${k.retiredHow ?? '?'})`);
  if (k.state === 'retirable') return style.green('retirable');
  return style.yellow('still needed');
}

function history(k: KeyRecordView): string {
  const parts = [`set ${formatTime(k.setAt)}`];
  if (k.replacedAt) parts.push(`replaced ${formatTime(k.replacedAt)}`);
  if (k.provenAt) parts.push(`proven ${formatTime(k.provenAt)}`);
  if (k.migratedAwayAt) parts.push(`migrated away ${formatTime(k.migratedAwayAt)}`);
  if (k.retiredAt) parts.push(`retired ${formatTime(k.retiredAt)}`);
  return parts.join(', ');
}

function keyVaultState(k: AzureKeysView['keys'][number]): string {
  if (k.problem) return `unreadable: ${k.problem}`;
  return `${k.enabled ? 'enabled' : 'DISABLED'}${k.expiresOn ? `, expires ${formatTime(k.expiresOn)}` : ', no expiry'}`;
}

/** What Azure reports now, and the warnings about keys Secrets still need. */
function azureLines(result: KeysResult, style: Style): string[] {
  const azure = result.azure;
  if (!azure)
    return [
      style.dim(
        `Azure not read: ${result.azureUnread ?? 'not asked'}; the ledger below is all kmsflow knows.`,
      ),
    ];
  const mode = azure.networkAccess ? ` (${azure.networkAccess})` : '';
  const lines = [
    `AKS now (ARM): KMS ${azure.kmsEnabled ? `on${mode}, current slot ${shortKey(azure.currentKeyId)}` : 'off'}; the previous slot is not in ARM's model (kmsflow ledger only)`,
  ];
  if (azure.keys.length > 0) {
    lines.push(
      ...table(
        ['KEY', 'KNOWN FROM', 'KEY VAULT'],
        azure.keys.map((k) => [
          shortKey(k.keyId),
          k.source === 'arm-current-slot' ? 'ARM (current slot)' : 'kmsflow ledger',
          keyVaultState(k),
        ]),
      ),
    );
  }
  for (const w of result.warnings) lines.push(style.yellow(`! ${w}`));
  return lines;
}

export function renderKeys(result: KeysResult, style: Style): string[] {
  const lines = [
    `${style.bold(`Key ledger of ${result.cluster}`)}  KMS ${result.kmsEnabled ? 'on' : 'off'}`,
    `  ${result.clusterId}`,
    '',
  ];
  if (result.note) lines.push(style.dim(result.note), '');
  lines.push(...azureLines(result, style), '');
  lines.push(
    `Key slots (kmsflow ledger): current ${shortKey(result.slots.current)}   previous ${shortKey(result.slots.previous)}`,
  );
  if (result.keys.length > 0) {
    lines.push('');
    lines.push(
      ...table(
        ['KEY', 'SLOT', 'STATE', 'HISTORY'],
        result.keys.map((k) => [shortKey(k.keyId), k.slot ?? '-', stateWord(k, style), history(k)]),
      ),
    );
    lines.push('');
    lines.push(`Still needed: ${result.stillNeeded.length ? result.stillNeeded.join(', ') : 'none'}`);
    lines.push(`Retirable:    ${result.retirable.length ? result.retirable.join(', ') : 'none'}`);
  }
  const last = result.lastReencryption;
  lines.push('');
  if (last) {
    const verdict =
      last.status === 'started'
        ? style.red('NOT finished (cancelled, failed or running)')
        : last.proven
          ? style.green('proven')
          : style.red('NOT proven');
    lines.push(
      `Last re-encryption: ${verdict} at ${formatTime(last.at)} under ${last.keyId ? shortKey(last.keyId) : 'identity (unencrypted)'}`,
    );
    lines.push(
      `  ${last.objects} objects, watermark ${last.watermark}, digest ${last.digest}${last.secretsPerSecond ? `, ${last.secretsPerSecond} Secrets/s` : ''}`,
    );
    lines.push(`  by ${last.workflowId}${last.runId ? ` run ${last.runId}` : ''}`);
  } else {
    lines.push('Last re-encryption: none recorded');
  }
  if (result.procedures.length > 0) {
    lines.push('', style.bold('Procedures on this cluster (newest first)'));
    lines.push(
      ...table(
        ['RUN', 'PROCEDURE', 'STATUS', 'PROOF', 'STARTED'],
        result.procedures.map((p) => [
          p.firstRunId,
          p.procedure ?? '',
          p.status,
          p.proof ?? '-',
          formatTime(p.startedAt),
        ]),
      ),
    );
  }
  return lines;
}
