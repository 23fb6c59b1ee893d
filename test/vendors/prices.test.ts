import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadProxyConfig } from '../../src/proxy/config.js';
import { buildVendorTable } from '../../src/proxy/vendors.js';
import { VENDOR_MODULES } from '../../src/vendors/registry.js';

const write = (text: string) => {
  const file = join(mkdtempSync(join(tmpdir(), 'tq-prices-')), 'proxy.yaml');
  writeFileSync(file, text);
  return file;
};

describe('price tables', () => {
  it('every vendor that meters has a dated table with its source', () => {
    for (const m of VENDOR_MODULES.filter((x) => x.id !== 'generic')) {
      expect(m.prices.as_of, m.id).toMatch(/^\d{4}-\d{2}-\d{2}$/);
      expect(m.prices.source, m.id).toMatch(/^(https:\/\/|ECB)/);
    }
  });

  it('the proxy config overrides prices (a negotiated rate, a model not in the table) and says when', async () => {
    const cfg = await loadProxyConfig(
      write(
        `vendors:\n  openai:\n    prices:\n      as_of: "2026-01-01"\n      source: our contract\n      models:\n        gpt-4o: { input: 1, output: 4 }\n        ft:gpt-4o-mini:acme: { input: 0.3, output: 1.2 }\n`,
      ),
      {},
    );
    const spec = buildVendorTable(cfg.vendors).get('openai')!;
    expect(spec.prices).toMatchObject({ as_of: '2026-01-01', source: 'our contract' });
    const cost = (model: string) =>
      spec
        .meter({
          method: 'POST',
          path: '/v1/chat/completions',
          query: new URLSearchParams(),
          headers: {},
          body: { model },
          raw: Buffer.from('{}'),
        })
        .cost({
          status: 200,
          headers: {},
          contentType: 'application/json',
          body: Buffer.from(JSON.stringify({ model, usage: { prompt_tokens: 1e6, completion_tokens: 1e6 } })),
          truncated: false,
        });
    expect(cost('gpt-4o-2024-08-06')).toBe(5);
    expect(cost('ft:gpt-4o-mini:acme')).toBeCloseTo(1.5, 12);
    expect(cost('gpt-4o-mini')).toBeCloseTo(0.75, 12); // the rest of the table stays
  });

  it('a price that is not a number is a clear config error (exit 2)', async () => {
    const err = (await loadProxyConfig(
      write('vendors:\n  openai:\n    prices:\n      models:\n        gpt-4o: { input: cheap }\n'),
      {},
    ).catch((e: unknown) => e)) as { exitCode: number; message: string };
    expect(err.exitCode).toBe(2);
    expect(err.message).toContain('vendors.openai.prices.models.gpt-4o.input');
  });
});
