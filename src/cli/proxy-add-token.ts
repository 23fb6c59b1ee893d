import type { CommandInput } from './registry.js';
import type { Ctx } from './context.js';
import { usageError } from '../core/errors.js';
import { addToken } from '../proxy/admin/tokens.js';
import { writeSecretOnce } from './issue.js';
import { scalarText } from '../core/json.js';

/** `tourniquet proxy add-token NAME --scope S --tokens-file F`: a new admin token, shown once; the file keeps its hash. */
export async function run({ args, opts }: CommandInput, ctx: Ctx): Promise<number> {
  const file = (opts.tokensFile as string | undefined) ?? ctx.io.env.TOURNIQUET_ADMIN_TOKENS;
  if (!file)
    throw usageError('no token file', 'pass --tokens-file FILE (the file proxy serve reads with --admin-tokens)');
  const name = args[0]!;
  const scope = scalarText(opts.scope) ?? '';
  const out = opts.tokenOut as string | undefined;
  const { token } = await addToken(file, name, scope);
  writeSecretOnce(ctx, token, out);
  if (ctx.flags.json)
    ctx.io.stdout.write(
      JSON.stringify({ name, scope, tokens_file: file, ...(out ? { token_file: out } : { token }) }, null, 2) + '\n',
    );
  else if (!out) ctx.io.stdout.write(token + '\n');
  ctx.secrets.add(token);
  ctx.out.info(
    `added ${name} (${scope}) to ${file}${out ? `; the token is in ${out} (mode 0600)` : '; the token above is shown once'}. Send the proxy SIGHUP to load it.`,
  );
  return 0;
}
