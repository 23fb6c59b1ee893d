// Build step: validate the built-in playbooks and write dist/catalog.json (see core/catalog-cache.ts).
import { writeFileSync } from 'node:fs';
import { builtinDir, catalogCacheFile, loadCatalog } from './core/playbooks.js';
import { serializeCatalog } from './core/catalog-cache.js';
import { rmSync } from 'node:fs';

rmSync(catalogCacheFile(), { force: true });
try {
  const catalog = await loadCatalog();
  writeFileSync(catalogCacheFile(), serializeCatalog(catalog, builtinDir()));
} catch (err) {
  process.stderr.write(`build: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 2;
}
