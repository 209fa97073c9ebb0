// Docs that work: every code an operator can meet is explained in docs/troubleshooting.md.
import * as fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { RULES } from '../model/rules';

const read = (file: string) => fs.readFileSync(file, 'utf8');
const troubleshooting = read('docs/troubleshooting.md');

describe('troubleshooting page', () => {
  it('explains every preflight finding code', () => {
    const codes = RULES.map((r) => r.code);
    expect(codes.length).toBeGreaterThan(30);
    expect([...new Set(codes)].filter((code) => !troubleshooting.includes(`\`${code}\``))).toEqual([]);
  });

  it('explains every blocking code the workflows raise', () => {
    const sources = ['workflows/procedure-steps.ts', 'workflows/reencrypt.ts', 'activities/cluster.ts']
      .map(read)
      .join('\n');
    const codes = [...sources.matchAll(/code: '([A-Za-z]+)'/g)]
      .map((m) => m[1]!)
      .filter((c) => c !== 'Canceled');
    expect(codes.length).toBeGreaterThan(5);
    expect([...new Set(codes)].filter((code) => !troubleshooting.includes(`\`${code}\``))).toEqual([]);
  });
});
