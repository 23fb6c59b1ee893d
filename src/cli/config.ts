import type { Ctx } from './context.js';
import type { CommandInput } from './registry.js';
import { settingsFor } from './settings.js';
import { SETTINGS, configPath, useProfile, writeSetting, type Resolved } from '../core/config.js';
import { usageError } from '../core/errors.js';
import { renderTable } from '../render/table.js';

const where = (r: Resolved) =>
  r.source === 'env' ? `env ${r.origin}` : r.source === 'profile' ? `profile ${r.origin}` : r.source;

function list(ctx: Ctx): number {
  const settings = settingsFor(ctx);
  const rows = settings.all();
  if (ctx.flags.json) {
    ctx.out.json({ profile: settings.profile, file: configPath(ctx.io.env), settings: rows });
    return 0;
  }
  ctx.out.info(`profile: ${settings.profile}   file: ${configPath(ctx.io.env)}`);
  ctx.out.data(
    renderTable(rows, [
      { header: 'SETTING', value: (r) => r.key },
      { header: 'VALUE', value: (r) => r.value ?? '-', max: 44 },
      { header: 'FROM', value: where },
    ]),
  );
  return 0;
}

function get(ctx: Ctx, key: string): number {
  const settings = settingsFor(ctx);
  const r = settings.resolve(key);
  if (r.source === 'unset' && !(key in SETTINGS))
    throw usageError(`unknown setting "${key}"`, `known settings: ${Object.keys(SETTINGS).join(', ')}`);
  if (ctx.flags.json) ctx.out.json(r);
  else if (r.value !== undefined) ctx.out.data(r.value);
  else ctx.out.info(`${key} is not set`);
  return 0;
}

export function run({ name, args }: CommandInput, ctx: Ctx): number {
  const env = ctx.io.env;
  switch (name) {
    case 'list':
      return list(ctx);
    case 'get':
      return get(ctx, args[0]!);
    case 'set':
    case 'unset': {
      const value = name === 'set' ? args[1] : undefined;
      const profile = ctx.flags.dryRun
        ? (ctx.flags.profile ?? '(current)')
        : writeSetting(env, ctx.flags.profile, args[0]!, value);
      const verb = ctx.flags.dryRun ? 'would set' : name === 'set' ? 'set' : 'unset';
      if (ctx.flags.json) ctx.out.json({ profile, key: args[0], value: value ?? null, dry_run: ctx.flags.dryRun });
      else ctx.out.info(`${verb} ${args[0]} in profile ${profile}`);
      return 0;
    }
    case 'use':
      if (!ctx.flags.dryRun) useProfile(env, args[0]!);
      if (ctx.flags.json) ctx.out.json({ current: args[0] });
      else ctx.out.info(`now using profile ${args[0]}`);
      return 0;
    default:
      throw usageError(`unknown config command "${name}"`);
  }
}
