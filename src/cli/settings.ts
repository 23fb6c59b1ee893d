import type { Ctx } from './context.js';
import { loadSettings, type Settings } from '../core/config.js';
import { loadCatalog, type Catalog } from '../core/playbooks.js';

/** The profile's settings for this run, with flag values taking precedence. */
export function settingsFor(ctx: Ctx, flags: Record<string, string | undefined> = {}): Settings {
  return loadSettings(ctx.io.env, ctx.flags.profile, flags);
}

/** Built-in playbooks plus the directories named by TOURNIQUET_PLAYBOOKS or the profile. */
export async function catalogFor(ctx: Ctx): Promise<Catalog> {
  const settings = settingsFor(ctx);
  return loadCatalog(settings.list('playbooks'));
}
