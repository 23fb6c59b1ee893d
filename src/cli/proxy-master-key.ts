import type { CommandInput } from './registry.js';
import type { Ctx } from './context.js';
import { settingsFor } from './settings.js';
import { rotateMasterKey } from '../core/actions/master-key.js';

/** `tourniquet proxy rotate-master-key`: re-wrap every stored production key under the new master key. */
export async function run({ opts }: CommandInput, ctx: Ctx): Promise<number> {
  const settings = settingsFor(ctx, { proxy_url: opts.proxyUrl as string | undefined });
  const r = await rotateMasterKey(settings, {
    io: { env: ctx.io.env, stdin: ctx.io.stdin },
    trace: ctx.trace,
    register: (s) => ctx.secrets.add(s),
  });
  if (ctx.flags.json) {
    ctx.out.json(r);
    return 0;
  }
  ctx.out.data(`master key ${r.master_key_id}: ${r.rewrapped} production key(s) re-wrapped`);
  if (r.previous_master_key_ids.length)
    ctx.out.info(
      `no stored key needs ${r.previous_master_key_ids.join(', ')} any more: once every instance has the new key first in its source (SIGHUP or restart), remove the old one`,
    );
  return 0;
}
