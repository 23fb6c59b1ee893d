import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync, readFileSync, utimesSync, cpSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { builtinDir, loadCatalog, PlaybookError } from '../../src/core/playbooks.js';
import { readCachedCatalog, serializeCatalog } from '../../src/core/catalog-cache.js';
import { KEY_VENDOR_IDS } from '../../src/vendors/registry.js';

const GOOD = `id: my-scenario
title: Our own scenario
summary: A team's own playbook.
action: revoke
needs: [vendor]
steps:
  - kind: revoke-vault-key
    target: "{vault_key}"
    reason: Because it is ours.
`;

function dirWith(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'tq-playbooks-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

async function problemsOf(files: Record<string, string>) {
  try {
    await loadCatalog([dirWith(files)]);
  } catch (err) {
    expect(err).toBeInstanceOf(PlaybookError);
    expect((err as PlaybookError).exitCode).toBe(2);
    return (err as PlaybookError).problems;
  }
  throw new Error('expected the playbook to be refused');
}

describe('playbooks', () => {
  it('loads every built-in playbook through the validating loader, not only the cache', async () => {
    const copy = mkdtempSync(join(tmpdir(), 'tq-builtin-'));
    cpSync(builtinDir(), copy, { recursive: true });
    const catalog = await loadCatalog([], copy);
    expect(catalog.playbooks.size).toBe(12);
    // Every vendor with keys to manage has its decision facts (tails, key capabilities) in vendors.yaml.
    expect([...catalog.vendors.keys()].sort()).toEqual([...KEY_VENDOR_IDS].sort());
    expect(catalog.playbooks.get('runaway-loop')!.steps[0]!.kind).toBe('revoke-vault-key');
  });

  it('adds a team playbook from a directory of its own', async () => {
    const catalog = await loadCatalog([dirWith({ 'mine.yaml': GOOD })]);
    expect(catalog.playbooks.get('my-scenario')!.title).toBe('Our own scenario');
    expect([...catalog.playbooks.keys()].at(-1)).toBe('my-scenario');
  });

  it('adds a vendor from a vendors.yaml of its own', async () => {
    const vendors = `vendors:\n  acme:\n    title: Acme\n    rotation_latency_s: { median: 10, p95: 20 }\n    keys: { create: api, delete: api }\n    auth: { scheme: header, header: X-Acme-Key }\n`;
    const catalog = await loadCatalog([dirWith({ 'vendors.yaml': vendors })]);
    expect(catalog.vendors.get('acme')!.rotation_latency_s!.p95).toBe(20);
  });

  it('names file, field and line for an unknown step kind', async () => {
    const problems = await problemsOf({ 'bad.yaml': GOOD.replace('revoke-vault-key', 'nuke-it') });
    expect(problems).toEqual([
      expect.objectContaining({
        field: 'steps[0].kind',
        line: 7,
        message: expect.stringMatching(/must be one of: revoke-vault-key/),
      }),
    ]);
    expect(problems[0]!.file).toMatch(/bad\.yaml$/);
  });

  it('names an unknown field', async () => {
    const problems = await problemsOf({ 'bad.yaml': GOOD + 'priority: high\n' });
    expect(problems[0]).toMatchObject({ field: '', message: 'unknown field "priority"' });
  });

  it('names a missing required field', async () => {
    const problems = await problemsOf({ 'bad.yaml': GOOD.replace('action: revoke\n', '') });
    expect(problems[0]!.message).toBe('missing required field "action"');
  });

  it('reports YAML syntax errors with their line', async () => {
    const problems = await problemsOf({
      'bad.yaml': GOOD.replace('    reason: Because it is ours.', '    reason: [unclosed'),
    });
    expect(problems[0]!.message).toMatch(/^YAML: /);
    expect(problems[0]!.line).toBeGreaterThanOrEqual(9);
  });

  it('refuses wrong types, empty steps, bad ids and unknown needs', async () => {
    const cases = [
      GOOD.replace(
        'steps:\n  - kind: revoke-vault-key\n    target: "{vault_key}"\n    reason: Because it is ours.\n',
        'steps: []\n',
      ),
      GOOD.replace('id: my-scenario', 'id: My Scenario'),
      GOOD.replace('needs: [vendor]', 'needs: [weather]'),
      GOOD.replace('title: Our own scenario', 'title: 42'),
    ];
    for (const text of cases) expect((await problemsOf({ 'bad.yaml': text })).length).toBeGreaterThan(0);
  });

  it('refuses an id clash with a built-in playbook, naming both files', async () => {
    const problems = await problemsOf({ 'clash.yaml': GOOD.replace('my-scenario', 'runaway-loop') });
    expect(problems[0]!.message).toMatch(/id "runaway-loop" is already defined by .*runaway-loop\.yaml/);
  });

  it('refuses references to scenarios and facts that do not exist', async () => {
    const problems = await problemsOf({
      'bad.yaml': GOOD.replace('"{vault_key}"', '"{vault_key} {weather}"') + 'without_proxy: nowhere\n',
    });
    expect(problems.map((p) => p.message)).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/"nowhere", which no playbook defines/),
        expect.stringMatching(/unknown placeholder \{weather\}/),
      ]),
    );
  });

  it('refuses a playbook directory that does not exist', async () => {
    await expect(loadCatalog(['/nonexistent/playbooks'])).rejects.toThrow(
      /cannot read playbook directory \/nonexistent\/playbooks: ENOENT/,
    );
  });

  it('uses the build-time cache only while the YAML files are unchanged', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tq-cache-'));
    cpSync(builtinDir(), dir, { recursive: true });
    const cacheFile = join(dir, 'catalog.json');
    writeFileSync(cacheFile, serializeCatalog(await loadCatalog([], dir), dir));
    expect(readCachedCatalog(cacheFile, dir)?.playbooks.size).toBe(12);
    const file = join(dir, 'runaway-loop.yaml');
    writeFileSync(file, readFileSync(file, 'utf8').replace('burning spend', 'burning money'));
    utimesSync(file, new Date(), new Date(Date.now() + 5000));
    expect(readCachedCatalog(cacheFile, dir)).toBeUndefined();
  });
});
