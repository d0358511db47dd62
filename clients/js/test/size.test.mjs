// The committed build is what the Go server embeds: it must be current and small.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { build, output } from '../build.mjs';

it('dist/bespoke.min.js is ≤ 5 KB min+gzip', () => {
  const code = readFileSync(output);
  const gz = gzipSync(code, { level: 9 }).length;
  console.log(`# dist/bespoke.min.js: ${code.length} bytes minified, ${gz} bytes gzip`);
  assert.ok(code.length > 1000, 'the build is not empty');
  assert.ok(gz <= 5 * 1024, `${gz} bytes gzip, the budget is 5120`);
});

it('dist/bespoke.min.js is the build of bespoke.js (run npm run build)', async () => {
  assert.equal(readFileSync(output, 'utf8'), await build(), 'dist is stale: run `npm run build` in clients/js');
});
