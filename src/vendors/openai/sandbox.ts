import type { ServerResponse } from 'node:http';
import type { SandboxVendor, SandboxVendorOptions } from '../module.js';
import { Keyring, token } from '../../sandbox/keyring.js';
import { openaiTail } from './facts.js';
import { bearerAuth, nowSec, serveRoutes, sroute, type Reply, type SandboxRequest } from '../../sandbox/http.js';

/**
 * OpenAI, as documented: chat completions with `usage` (and SSE streaming with
 * `stream_options.include_usage`), and the admin API for project service accounts and keys.
 * Admin calls need the admin key (`sk-admin-…`); model calls need a project or service-account key.
 */
export interface OpenAISandbox extends SandboxVendor {
  adminKey: string;
  projectId: string;
  defaultKey: { id: string; secret: string; admin_key: string; project_id: string };
}

const err = (status: number, message: string, type: string, code: string | null, param: string | null = null): Reply => ({
  status,
  body: { error: { message, type, param, code } },
});

const tokensOf = (text: string) => Math.max(1, Math.ceil(text.length / 4));

export async function startOpenAISandbox(opts: SandboxVendorOptions = {}): Promise<OpenAISandbox> {
  const keys = new Keyring('openai', openaiTail, opts);
  const adminKey = `sk-admin-${token(48)}`;
  const projectId = `proj_${token(24)}`;
  const serviceAccounts = new Map<string, { id: string; name: string; created_at: number; keyId: string }>();

  function model(handler: (r: SandboxRequest, res: ServerResponse) => Reply | Promise<Reply>) {
    return (r: SandboxRequest, res: ServerResponse) => {
      const key = bearerAuth(r.headers);
      if (!key) return err(401, "You didn't provide an API key.", 'invalid_request_error', 'missing_api_key');
      if (!keys.accept(key)) {
        const shown = opts.echoKeysInErrors ? key : `${key.slice(0, 8)}****${key.slice(-4)}`;
        return err(401, `Incorrect API key provided: ${shown}. You can find your API key at https://platform.openai.com/account/api-keys.`, 'invalid_request_error', 'invalid_api_key');
      }
      return handler(r, res);
    };
  }

  function admin(handler: (r: SandboxRequest) => Reply) {
    return (r: SandboxRequest) => {
      if (bearerAuth(r.headers) !== adminKey) return err(401, 'Invalid admin key.', 'invalid_request_error', 'invalid_api_key');
      if (r.params[0] !== projectId) return err(404, `No such project: ${r.params[0]}`, 'invalid_request_error', 'not_found');
      return handler(r);
    };
  }

  async function chat(r: SandboxRequest, res: ServerResponse): Promise<Reply> {
    const messages = r.body.messages;
    if (!Array.isArray(messages) || messages.length === 0) return err(400, "Missing required parameter: 'messages'.", 'invalid_request_error', 'missing_required_parameter', 'messages');
    const modelName = typeof r.body.model === 'string' ? r.body.model : '';
    if (!modelName) return err(400, "Missing required parameter: 'model'.", 'invalid_request_error', 'missing_required_parameter', 'model');
    const prompt = messages.map((m) => String((m as { content?: unknown }).content ?? '')).join(' ');
    const reply = `Sandbox reply to: ${prompt.slice(0, 60)}`;
    const usage = { prompt_tokens: tokensOf(prompt), completion_tokens: tokensOf(reply), total_tokens: tokensOf(prompt) + tokensOf(reply) };
    const id = `chatcmpl-${token(24)}`;
    const created = nowSec();
    if (r.body.stream !== true) {
      return {
        status: 200,
        body: { id, object: 'chat.completion', created, model: modelName, choices: [{ index: 0, message: { role: 'assistant', content: reply, refusal: null }, logprobs: null, finish_reason: 'stop' }], usage },
        headers: { 'x-request-id': `req_${token(16)}` },
      };
    }
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', 'x-request-id': `req_${token(16)}` });
    const base = { id, object: 'chat.completion.chunk', created, model: modelName };
    const send = (obj: unknown) => res.write(`data: ${JSON.stringify(obj)}\n\n`);
    const includeUsage = (r.body.stream_options as { include_usage?: boolean } | undefined)?.include_usage === true;
    send({ ...base, choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }] });
    for (const word of reply.split(/(?<= )/)) {
      if (res.destroyed) return 'stream-handled';
      if (opts.streamDelayMs) await new Promise((resolve) => setTimeout(resolve, opts.streamDelayMs));
      send({ ...base, choices: [{ index: 0, delta: { content: word }, finish_reason: null }] });
    }
    send({ ...base, choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] });
    if (includeUsage) send({ ...base, choices: [], usage });
    res.end('data: [DONE]\n\n');
    return 'stream-handled';
  }

  const createKey = (name = 'Secret Key') => {
    const secret = `sk-proj-${token(64)}`;
    const id = `key_${token(16)}`;
    keys.add(secret, id, name);
    return { id, secret };
  };

  const routes = [
    sroute('POST', '/v1/chat/completions', model(chat)),
    sroute('GET', '/v1/models', model(() => ({ status: 200, body: { object: 'list', data: [{ id: 'gpt-4o-mini', object: 'model', created: 1721172741, owned_by: 'system' }] } }))),
    sroute(
      'POST',
      '/v1/organization/projects/{project_id}/service_accounts',
      admin((r) => {
        if (typeof r.body.name !== 'string') return err(400, "Missing required parameter: 'name'.", 'invalid_request_error', 'missing_required_parameter', 'name');
        const id = `svc_acct_${token(24)}`;
        const secret = `sk-svcacct-${token(64)}`;
        const keyId = `key_${token(16)}`;
        keys.add(secret, keyId, 'Secret Key', { service_account: id });
        const created_at = nowSec();
        serviceAccounts.set(id, { id, name: r.body.name, created_at, keyId });
        return {
          status: 200,
          body: {
            object: 'organization.project.service_account', id, name: r.body.name, role: 'member', created_at,
            api_key: { object: 'organization.project.service_account.api_key', value: secret, name: 'Secret Key', created_at, id: keyId },
          },
        };
      }),
    ),
    sroute(
      'DELETE',
      '/v1/organization/projects/{project_id}/service_accounts/{id}',
      admin((r) => {
        const sa = serviceAccounts.get(r.params[1]!);
        if (!sa) return err(404, `No such service account: ${r.params[1]}`, 'invalid_request_error', 'not_found');
        serviceAccounts.delete(sa.id);
        keys.delete(sa.keyId);
        return { status: 200, body: { object: 'organization.project.service_account.deleted', id: sa.id, deleted: true } };
      }),
    ),
    sroute(
      'GET',
      '/v1/organization/projects/{project_id}/api_keys',
      admin(() => ({
        status: 200,
        body: {
          object: 'list',
          data: keys.list().map((k) => ({ object: 'organization.project.api_key', id: k.id, name: k.name, redacted_value: `${k.secret.slice(0, 8)}...${k.secret.slice(-4)}`, created_at: Math.floor(k.createdAt / 1000) })),
          has_more: false,
        },
      })),
    ),
    sroute(
      'DELETE',
      '/v1/organization/projects/{project_id}/api_keys/{key_id}',
      admin((r) => {
        const gone = keys.delete(r.params[1]!);
        if (!gone) return err(404, `No such API key: ${r.params[1]}`, 'invalid_request_error', 'not_found');
        return { status: 200, body: { object: 'organization.project.api_key.deleted', id: r.params[1], deleted: true } };
      }),
    ),
  ];
  const { server, url } = await serveRoutes(routes, {
    latencyMs: opts.latencyMs,
    notFound: (r) => err(404, `Invalid URL (${r.method} ${r.path})`, 'invalid_request_error', null),
    badBody: () => err(400, 'We could not parse the JSON body of your request.', 'invalid_request_error', null),
  });
  const defaultKey = { ...createKey('default'), admin_key: adminKey, project_id: projectId };
  return { url, keys, adminKey, projectId, createKey, deleteKey: (k) => keys.delete(k), server, defaultKey };
}
