// Bundle src/ into dist/ with esbuild: one ESM entry plus a chunk per lazily loaded command,
// so `--help` and the 2am path load only what they use. Dependencies stay in node_modules.
import { build } from 'esbuild';
import { readFile, rm } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const pkg = JSON.parse(await readFile(`${root}/package.json`, 'utf8'));
// commander is bundled: importing a CommonJS package from ESM makes Node lex it at every start.
// Everything else stays in node_modules and loads only when a command needs it.
const BUNDLED = new Set(['commander']);
const external = [...Object.keys(pkg.dependencies ?? {}), ...Object.keys(pkg.devDependencies ?? {})].filter(
  (d) => !BUNDLED.has(d),
);
await rm(`${root}/dist`, { recursive: true, force: true });
await build({
  absWorkingDir: root,
  entryPoints: { main: 'src/main.ts' },
  outdir: 'dist',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  external,
  // Less source for V8 to scan at every start; the source map keeps stack traces readable.
  minify: true,
  sourcemap: 'linked',
  chunkNames: 'chunks/[name]-[hash]',
  banner: {
    js: "import { createRequire as __tqCreateRequire } from 'node:module'; const require = __tqCreateRequire(import.meta.url);",
  },
  logLevel: 'warning',
});

// The cold-start fast path (src/fast-path.ts): one small file of its own, no chunks, so `--help`
// and `decide --json` load neither commander nor the registry. Its --help layout comes from the
// template the full CLI writes below.
await build({
  absWorkingDir: root,
  entryPoints: { 'fast-path': 'src/fast-path.ts' },
  outdir: 'dist',
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  external,
  minify: true,
  logLevel: 'warning',
});

// Validate the built-in playbooks now and cache them as JSON for a fast start.
await build({
  absWorkingDir: root,
  entryPoints: { 'build-catalog': 'src/build-catalog.ts' },
  outdir: 'dist',
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  packages: 'external',
  logLevel: 'warning',
});
const { execFileSync } = await import('node:child_process');
execFileSync(process.execPath, [`${root}/dist/build-catalog.js`], { stdio: 'inherit' });
const { writeFile } = await import('node:fs/promises');
const { helpTemplate } = await import(`${root}/dist/main.js`);
await writeFile(`${root}/dist/help-template.txt`, helpTemplate());
