import { writeFileSync, chmodSync } from 'node:fs';
import { inertJson } from '../core/inert.js';
import type { CommandInput } from './registry.js';
import type { Ctx } from './context.js';
import { usageError } from '../core/errors.js';
import { openSession } from '../core/actions/session.js';
import { issueSpec } from '../core/actions/issue.js';
import { maskInActions, sessionInput } from '../render/steps-output.js';

/**
 * An ephemeral per-run vault key. The secret is shown exactly once: on stdout (raw, or in the
 * --json object), or written to --out FILE with mode 0600 and never printed.
 */
export function writeSecretOnce(ctx: Ctx, secret: string, out: string | undefined): void {
  if (out) {
    writeFileSync(out, secret + '\n', { mode: 0o600, flag: 'w' });
    chmodSync(out, 0o600);
    ctx.secrets.add(secret);
    return;
  }
  maskInActions(ctx, secret);
}

export async function run({ opts }: CommandInput, ctx: Ctx): Promise<number> {
  const spec = issueSpec(opts);
  const out = opts.out as string | undefined;
  const session = openSession(sessionInput(ctx));
  const proxy = await session.proxy();
  if (ctx.flags.dryRun) {
    ctx.out.data(`dry run: ${proxy.describe('issue')} ${JSON.stringify(spec)}`);
    return 0;
  }
  if (!proxy.capabilities.issue) throw usageError(`the ${proxy.kind} proxy cannot issue vault keys`);
  const key = await proxy.issueVaultKey(spec);
  writeSecretOnce(ctx, key.secret, out);
  const info = {
    id: key.id,
    vendor: key.vendor,
    expires_at: key.expires_at,
    agent_run_id: spec.agent_run_id ?? null,
    ...(out ? { secret_file: out } : { secret: key.secret }),
  };
  // Written straight to stdout: this is the one place the secret is meant to appear.
  if (ctx.flags.json) ctx.io.stdout.write(inertJson(info, 2) + '\n');
  else if (!out) ctx.io.stdout.write(key.secret + '\n');
  ctx.secrets.add(key.secret);
  ctx.out.info(
    `issued ${key.id} for ${key.vendor}${key.expires_at ? `, expires ${key.expires_at}` : ''}${out ? `; secret written to ${out} (mode 0600)` : '; the secret above is shown once'}`,
  );
  return 0;
}
