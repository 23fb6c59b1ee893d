import { ADMIN_TOKEN, type Harness } from '../proxy/helpers.js';
import { isolatedEnv } from '../helpers/cli.js';

/** The CLI's environment against a harness's proxy: its admin URL and token, plus any extras. */
export function cliEnv(h: Harness, extra: Record<string, string | undefined> = {}): Record<string, string | undefined> {
  return isolatedEnv({ TOURNIQUET_PROXY_URL: h.proxy.adminUrl, TOURNIQUET_ADMIN_TOKEN: ADMIN_TOKEN, ...extra });
}

/** The OpenAI admin API settings for the harness's sandbox (the admin key by reference). */
export function openaiEnv(h: Harness): Record<string, string> {
  return {
    TOURNIQUET_OPENAI_BASE_URL: h.sandbox.urls.openai,
    TOURNIQUET_OPENAI_ADMIN_KEY: 'env:OPENAI_ADMIN_KEY',
    TOURNIQUET_OPENAI_PROJECT_ID: h.sandbox.keys.openai.project_id,
    OPENAI_ADMIN_KEY: h.sandbox.keys.openai.admin_key,
  };
}
