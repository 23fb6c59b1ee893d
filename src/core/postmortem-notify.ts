import { request } from 'undici';
import { TourniquetError, usageError } from './errors.js';

/**
 * Post text to a Slack-compatible incoming webhook (`{"text": …}`). The webhook URL is itself
 * a secret, so messages name only its host. Slack answers a plain-text "ok", not JSON.
 */
export async function postWebhook(url: string, text: string, timeoutMs = 10_000): Promise<void> {
  let host: string;
  try {
    host = new URL(url).host;
  } catch {
    throw usageError(
      'webhook_url is not a URL',
      'set it with: tourniquet config set webhook_url https://hooks.slack.com/…',
    );
  }
  let status: number;
  let body: string;
  try {
    const res = await request(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ text }),
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
    });
    status = res.statusCode;
    body = (await res.body.text()).slice(0, 200);
  } catch (err) {
    throw new TourniquetError('step-failed', `the webhook at ${host} did not answer: ${(err as Error).message}`, {
      hint: 'the postmortem itself was written; post it by hand',
    });
  }
  if (status < 200 || status >= 300)
    throw new TourniquetError(
      status === 401 || status === 403 ? 'auth' : 'step-failed',
      `the webhook at ${host} answered HTTP ${status}${body ? `: ${body}` : ''}`,
      {
        hint: 'the postmortem itself was written; check webhook_url',
      },
    );
}
