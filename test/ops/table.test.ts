import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { OPS } from '../../src/ops/table.js';

const DOC = readFileSync(new URL('../../docs/url-api.md', import.meta.url), 'utf8');

describe('the options table and its documentation', () => {
  it('every option has a row in docs/url-api.md that names each of its aliases', () => {
    for (const op of OPS) {
      const row = DOC.split('\n').find((line) => line.startsWith(`| ${op.name} |`));
      assert.ok(row, `docs/url-api.md has no row for ${op.name}`);
      const aliasCell = row.split('|')[3] ?? '';
      for (const alias of op.aliases ?? []) assert.ok(aliasCell.includes(alias), `${op.name}: alias ${alias} is not documented`);
    }
  });
});
