/**
 * A 403 `insufficient_scope` from our proxy's admin API names the scope the call needs; the CLI
 * says it (exit 3, like any refusal of our credentials) and how to get such a token.
 */
export function scopeRefusal(body: unknown): { message: string; hint: string; required_scope: string } | null {
  const e = (body as { error?: { code?: unknown; required_scope?: unknown; token_scope?: unknown } } | null)?.error;
  if (!e || e.code !== 'insufficient_scope' || typeof e.required_scope !== 'string') return null;
  const has = typeof e.token_scope === 'string' ? ` (this token has "${e.token_scope}")` : '';
  return {
    required_scope: e.required_scope,
    message: `: insufficient_scope: this needs an admin token with the "${e.required_scope}" scope${has}`,
    hint: `use a token with the ${e.required_scope} scope: tourniquet proxy add-token NAME --scope ${e.required_scope} --tokens-file FILE on the proxy host, then point admin_token_file at it`,
  };
}
