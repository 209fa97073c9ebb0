// Every figure table in docs/reliability.md and docs/benchmarks.md is generated from a committed result
// file (bench/results/); a doc edited by hand, or a result file committed without regenerating, fails here.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { expect, it } from 'vitest';
import { generatedBlocks, regenerate } from '../bench/docs-figures';

for (const [doc, blocks] of Object.entries(generatedBlocks())) {
  it(`${doc} shows exactly what its result files hold (npm run docs:figures)`, () => {
    const text = fs.readFileSync(path.resolve(doc), 'utf8');
    expect(text).toBe(regenerate(doc, text, blocks));
  });
}

it('a doc without its generated block is refused, not silently left as it is', () => {
  expect(() => regenerate('docs/x.md', '# nothing here\n', { figures: '| a |' })).toThrow(
    /no <!-- generated:figures -->/,
  );
});
