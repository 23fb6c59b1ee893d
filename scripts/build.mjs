// Bundle src/ into dist/ with esbuild: one ESM entry plus a chunk per lazily loaded command,
// so `--help` and the 2am path load only what they use. Dependencies stay in node_modules.
import { build } from 'esbuild';
import { rm } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
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
  packages: 'external',
  sourcemap: 'linked',
  chunkNames: 'chunks/[name]-[hash]',
  banner: { js: "import { createRequire as __tqCreateRequire } from 'node:module'; const require = __tqCreateRequire(import.meta.url);" },
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
