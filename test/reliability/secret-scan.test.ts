// The Secret scan must find a value however it leaks: whole or cut out of a larger text, as bytes, base64
// or hex, inside JSON payload bytes, inside a serialised Node Buffer, as an array of byte values, in UTF-8
// or Latin-1 text. Each case here is a leak the scan must catch, and a near miss it must not report.
import { randomBytes } from 'node:crypto';
import { defaultPayloadConverter } from '@temporalio/common';
import { expect, it } from 'vitest';
import { LeakMatcher, LeakScan } from './secret-scan';

const binary = randomBytes(700);
const utf8 = Buffer.from('鍵の値は秘密です — ключ секрет 🔑 '.repeat(3), 'utf8');
const short = Buffer.from('k9Zq-2xW', 'latin1');
const latin1 = Buffer.from('mot de passe: s\u00e9cr\u00e8t-\u00e9t\u00e9-2026', 'latin1');
const values = [
  { id: 'binary', bytes: binary },
  { id: 'utf8', bytes: utf8 },
  { id: 'short', bytes: short },
  { id: 'latin1', bytes: latin1 },
];

const found = (value: unknown) => {
  const scan = new LeakScan(new LeakMatcher(values));
  scan.add('history', value);
  return scan.found('history');
};

it('finds every value in each form it can leak in', () => {
  expect(found({ log: `value=${binary.toString('base64')}` })).toEqual(['binary']);
  expect(found(`${binary.toString('hex')}`)).toEqual(['binary']);
  expect(found(defaultPayloadConverter.toPayload({ nested: { blob: binary } }))).toEqual(['binary']);
  expect(found(defaultPayloadConverter.toPayload({ bytes: [...binary] }))).toEqual(['binary']);
  expect(found({ details: [JSON.stringify({ deep: { b64: binary.toString('base64') } })] })).toEqual([
    'binary',
  ]);
  expect(found(defaultPayloadConverter.toPayload({ text: utf8.toString('utf8') }))).toEqual(['utf8']);
  expect(found(`token ${short.toString('latin1')} used`)).toEqual(['short']);
  expect(found(short.toString('hex'))).toEqual(['short']);
  expect(found(latin1.toString('latin1'))).toEqual(['latin1']);
  expect(found(new Uint8Array(latin1))).toEqual(['latin1']);
});

it('finds a value cut out of a larger text, truncated, or base64 of the whole text', () => {
  expect(found(binary.subarray(100, 300))).toEqual(['binary']);
  expect(found(binary.toString('base64').slice(0, 200))).toEqual(['binary']);
  expect(found(Buffer.from(`prefix ${binary.toString('base64')} suffix`).toString('base64'))).toEqual([
    'binary',
  ]);
});

it('does not report near misses', () => {
  expect(found('k9Zq-2x')).toEqual([]);
  expect(found(binary.subarray(0, 60))).toEqual([]);
  expect(found(randomBytes(4096))).toEqual([]);
  expect(found({ unrelated: 'kmsflow rewrote 300 Secrets' })).toEqual([]);
});

it('refuses values too short to tell from chance', () => {
  expect(() => new LeakMatcher([{ id: 'tiny', bytes: Buffer.from('abc') }])).toThrow(/under 8 bytes/);
});

it('reaches a value nested as deep as a history event holds it', () => {
  const event = {
    activityTaskCompletedEventAttributes: {
      result: {
        payloads: [defaultPayloadConverter.toPayload({ result: { payload: binary }, masked: [1, 2] })],
      },
    },
  };
  expect(found({ events: [event] })).toEqual(['binary']);
});
