import type { CommandInput } from './registry.js';
import type { Ctx } from './context.js';
import { settingsFor } from './settings.js';
import { EXIT_CODES } from '../core/errors.js';
import { createProxyAdapter } from '../adapters/proxy/index.js';
import { adminClient } from '../core/incident/admin.js';
import { isReady, runDoctor } from '../core/doctor.js';
import { checkAuditSource } from '../core/doctor-audit.js';
import { renderDoctor } from '../render/doctor.js';
import { scalarText } from '../core/json.js';

/** `doctor`: is the 2am path set up? Pass or fail per item with the fix; exit 7 when not ready. */
export async function run({ opts }: CommandInput, ctx: Ctx): Promise<number> {
  const settings = settingsFor(ctx);
  const deps = {
    io: { env: ctx.io.env, stdin: ctx.io.stdin },
    trace: ctx.trace,
    register: (s: string) => ctx.secrets.add(s),
  };
  const checks = await runDoctor({
    settings,
    proxy: () => createProxyAdapter(settings, deps),
    admin: () => adminClient(settings, deps),
    drill: opts.drill !== false,
    vendor: scalarText(opts.vendor) ?? 'stripe',
    auditSource: () =>
      checkAuditSource(settings, { env: ctx.io.env, stdin: ctx.io.stdin, secrets: ctx.secrets, trace: ctx.trace }),
  });
  const ready = isReady(checks);
  if (ctx.flags.json) ctx.out.json({ ready, checks });
  else ctx.out.data(renderDoctor(checks, ready, ctx.out.paint));
  // Refused credentials are exit 3 everywhere (README, exit codes), here too: the fix is the token.
  if (checks.some((c) => c.error_kind === 'auth')) return EXIT_CODES.auth;
  return ready ? 0 : EXIT_CODES.check;
}
