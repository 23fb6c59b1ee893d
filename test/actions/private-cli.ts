import { cpSync, existsSync, mkdtempSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from '../helpers/cli.js';

/**
 * A private copy of the built CLI (bin/ and dist/, with node_modules and playbooks linked), so a
 * test that spawns it many times is not broken by another build rewriting dist/ meanwhile.
 * Returns the path of its bin/tourniquet.js.
 */
export async function privateCli(): Promise<string> {
  const dist = join(ROOT, 'dist');
  for (let i = 0; i < 100 && !(existsSync(join(dist, 'main.js')) && existsSync(join(dist, 'catalog.json'))); i++)
    await new Promise((r) => setTimeout(r, 100));
  const dir = mkdtempSync(join(tmpdir(), 'tq-cli-'));
  cpSync(dist, join(dir, 'dist'), { recursive: true });
  cpSync(join(ROOT, 'bin'), join(dir, 'bin'), { recursive: true });
  cpSync(join(ROOT, 'package.json'), join(dir, 'package.json'));
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
  if (existsSync(join(ROOT, 'playbooks'))) symlinkSync(join(ROOT, 'playbooks'), join(dir, 'playbooks'));
  return join(dir, 'bin', 'tourniquet.js');
}
