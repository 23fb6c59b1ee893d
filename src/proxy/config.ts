import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { parse } from 'yaml';
import { usageError } from '../core/errors.js';
import { readSecret } from '../core/secrets.js';
import type { ConfiguredUpstreamKey } from './server.js';
import type { VendorOverride } from './vendors.js';
import type { PriceTable } from '../vendors/shared/prices.js';

/**
 * The proxy's config file (YAML or JSON). Production keys are named by where they live
 * (`secret_env`, `secret_file`), never written in it:
 *
 *   upstreams: { stripe: "http://127.0.0.1:4010" }
 *   vendors:   { acme: { base_url: "https://api.acme.dev", header: "X-Api-Key", template: "{key}" },
 *                openai: { prices: { as_of: "2026-01-01", source: "our contract", models: { "gpt-4o": { input: 2, output: 8 } } } } }
 *   upstream_keys:
 *     - { vendor: stripe, id: up_stripe_main, label: main, state: active, secret_env: STRIPE_SECRET_KEY }
 *     - { vendor: twilio, account_sid: AC…, secret_file: /run/secrets/twilio }
 */
export interface ProxyConfig {
  upstreams: Record<string, string>;
  vendors: Record<string, VendorOverride>;
  upstreamKeys: ConfiguredUpstreamKey[];
}

const KEY_FIELDS = new Set(['vendor', 'id', 'label', 'state', 'secret_env', 'secret_file', 'account_sid']);

function obj(v: unknown, where: string): Record<string, unknown> {
  if (v === undefined || v === null) return {};
  if (typeof v !== 'object' || Array.isArray(v)) throw usageError(`config: ${where} must be a mapping`);
  return v as Record<string, unknown>;
}

/** `vendors.<id>.prices`: `{as_of, source, models: {prefix: {input, output, …}}, units: {name: usd}}`, every figure a number ≥ 0. */
function priceOverride(v: unknown, where: string): Partial<PriceTable> {
  const p = obj(v, where);
  for (const k of Object.keys(p))
    if (!['as_of', 'source', 'models', 'units'].includes(k))
      throw usageError(`config: ${where}.${k} is not a known field`, 'known: as_of, source, models, units');
  const figure = (x: unknown, at: string) => {
    if (typeof x !== 'number' || !(x >= 0)) throw usageError(`config: ${at} must be a number of USD, 0 or more`);
  };
  const models = obj(p.models, `${where}.models`);
  for (const [m, price] of Object.entries(models))
    for (const [k, x] of Object.entries(obj(price, `${where}.models.${m}`)))
      if (typeof x !== 'object') figure(x, `${where}.models.${m}.${k}`);
  const units = obj(p.units, `${where}.units`);
  for (const [k, x] of Object.entries(units)) figure(x, `${where}.units.${k}`);
  return {
    as_of: typeof p.as_of === 'string' ? p.as_of : undefined,
    source: typeof p.source === 'string' ? p.source : undefined,
    models: models as PriceTable['models'],
    units: units as PriceTable['units'],
  };
}

export async function loadProxyConfig(path: string, env: Record<string, string | undefined>): Promise<ProxyConfig> {
  let raw: unknown;
  try {
    raw = parse(await readFile(path, 'utf8'));
  } catch (err) {
    throw usageError(`cannot read the proxy config ${path}: ${(err as Error).message}`);
  }
  const root = obj(raw, 'the file');
  for (const k of Object.keys(root))
    if (!['upstreams', 'vendors', 'upstream_keys'].includes(k))
      throw usageError(`config: unknown field "${k}"`, 'known: upstreams, vendors, upstream_keys');
  const upstreams: Record<string, string> = {};
  for (const [v, url] of Object.entries(obj(root.upstreams, 'upstreams'))) {
    if (typeof url !== 'string' || !/^https?:\/\//.test(url))
      throw usageError(`config: upstreams.${v} must be an http(s) URL`);
    upstreams[v] = url;
  }
  const vendors: Record<string, VendorOverride> = {};
  for (const [v, spec] of Object.entries(obj(root.vendors, 'vendors'))) {
    const s = obj(spec, `vendors.${v}`);
    vendors[v] = {
      baseUrl: s.base_url as string | undefined,
      header: s.header as string | undefined,
      template: s.template as string | undefined,
      prices: s.prices === undefined ? undefined : priceOverride(s.prices, `vendors.${v}.prices`),
    };
    const template = vendors[v].template;
    if (template && !template.includes('{key}')) throw usageError(`config: vendors.${v}.template must contain {key}`);
  }
  const list = root.upstream_keys ?? [];
  if (!Array.isArray(list)) throw usageError('config: upstream_keys must be a list');
  const upstreamKeys: ConfiguredUpstreamKey[] = [];
  for (const [i, entry] of list.entries()) {
    const e = obj(entry, `upstream_keys[${i}]`);
    for (const k of Object.keys(e))
      if (!KEY_FIELDS.has(k))
        throw usageError(
          `config: upstream_keys[${i}].${k} is not a known field`,
          k === 'secret' ? 'never put a secret in the config: use secret_env or secret_file' : undefined,
        );
    if (typeof e.vendor !== 'string') throw usageError(`config: upstream_keys[${i}].vendor is required`);
    const source =
      typeof e.secret_env === 'string'
        ? { from: 'env' as const, name: e.secret_env }
        : typeof e.secret_file === 'string'
          ? { from: 'file' as const, path: resolve(dirname(path), e.secret_file) }
          : null;
    if (!source) throw usageError(`config: upstream_keys[${i}] needs secret_env or secret_file`);
    const secret = await readSecret(source, { env, stdin: process.stdin }, `the ${e.vendor} production key`);
    upstreamKeys.push({
      vendor: e.vendor,
      secret,
      id: e.id as string | undefined,
      label: e.label as string | undefined,
      state: e.state === 'standby' ? 'standby' : e.state === 'active' ? 'active' : undefined,
      account_sid: e.account_sid as string | undefined,
    });
  }
  return { upstreams, vendors, upstreamKeys };
}

/** `stripe=http://127.0.0.1:4010` (repeatable). */
export function parseUpstreamFlags(values: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const v of values) {
    const i = v.indexOf('=');
    const url = v.slice(i + 1);
    if (i <= 0 || !/^https?:\/\/\S+$/.test(url))
      throw usageError(`--upstream ${v}: expected VENDOR=URL`, 'e.g. --upstream stripe=http://127.0.0.1:4010');
    out[v.slice(0, i)] = url;
  }
  return out;
}
