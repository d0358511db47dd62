// Builds dist/bespoke.min.js from bespoke.js with terser (a dev dependency).
// The minified file is committed so the Go server can embed it without npm;
// test/size.test.mjs checks that it is up to date and within 5 KB gzip.
import { readFile, writeFile, mkdir } from 'node:fs/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { minify } from 'terser';

const dir = fileURLToPath(new URL('.', import.meta.url));
export const source = dir + 'bespoke.js';
export const output = dir + 'dist/bespoke.min.js';

export async function build() {
  const code = await readFile(source, 'utf8');
  const out = await minify(code, {
    ecma: 2017,
    compress: { passes: 2 },
    mangle: true,
    format: { comments: /^!/, ecma: 2017 }
  });
  return out.code + '\n';
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const code = await build();
  await mkdir(dir + 'dist', { recursive: true });
  await writeFile(output, code);
  const { gzipSync } = await import('node:zlib');
  console.log(`dist/bespoke.min.js: ${code.length} bytes, ${gzipSync(code, { level: 9 }).length} bytes gzip`);
}
