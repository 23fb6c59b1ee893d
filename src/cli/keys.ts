import type { CommandInput } from './registry.js';
import type { Ctx } from './context.js';
import { settingsFor } from './settings.js';
import { EXIT_CODES, usageError } from '../core/errors.js';
import { noProxyUrl } from '../core/first-run.js';
import { HttpClient } from '../core/http.js';
import { readAdminToken } from '../adapters/proxy/index.js';
import { buildInventory } from '../core/rotation/inventory.js';
import { parseMaxAge } from '../core/rotation/policy.js';
import { renderKeysMarkdown, renderKeysText } from '../render/keys.js';
import { appendSummary } from '../render/github.js';
import { scalarText } from '../core/json.js';

/**
 * `tourniquet keys`: the production-key inventory for compliance: vendor, age, last use, vault
 * keys served, due date and the last rotation's incident. Exit 7 when a key is overdue, so a
 * scheduled job fails loudly while nobody rotates.
 */
const FORMATS = ['text', 'md', 'json'];

export async function run({ opts }: CommandInput, ctx: Ctx): Promise<number> {
  const format = ctx.flags.json ? 'json' : (scalarText(opts.format) ?? 'text');
  if (!FORMATS.includes(format)) throw usageError(`--format is one of ${FORMATS.join(', ')}`);
  const maxAge = opts.maxAge as string | undefined;
  if (maxAge !== undefined) parseMaxAge(maxAge, '--max-age');
  const settings = settingsFor(ctx);
  if ((settings.get('proxy_kind') ?? 'tourniquet') !== 'tourniquet')
    throw usageError(
      'keys reads production keys from our proxy (proxy_kind tourniquet)',
      'LiteLLM and in-house proxies keep their keys elsewhere',
    );
  const url = settings.get('proxy_url');
  if (!url) throw noProxyUrl();
  const token = (await readAdminToken(
    settings,
    { io: { env: ctx.io.env, stdin: ctx.io.stdin }, register: (s) => ctx.secrets.add(s) },
    true,
  ))!;
  const ms = Number(settings.get('timeout_ms')) || 5000;
  const clientFor = (baseUrl: string) =>
    new HttpClient({
      baseUrl,
      name: 'the proxy admin API',
      headers: { authorization: `Bearer ${token}` },
      trace: ctx.trace,
      timeouts: { connectMs: ms, headersMs: ms },
    });
  const inv = await buildInventory({
    admin: clientFor(url),
    clientFor,
    settings,
    stateDir: settings.get('state_dir')!,
    vendor: opts.vendor as string | undefined,
    includeRetired: opts.all === true,
    maxAge,
  });
  if (format === 'json') ctx.out.json(inv);
  else if (format === 'md') ctx.out.data(renderKeysMarkdown(inv));
  else ctx.out.data(renderKeysText(inv, ctx.out.paint));
  if (ctx.io.env.GITHUB_STEP_SUMMARY) appendSummary(ctx.io.env, renderKeysMarkdown(inv));
  return inv.overdue.length ? EXIT_CODES.check : 0;
}
