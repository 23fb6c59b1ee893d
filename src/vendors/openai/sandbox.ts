import type { ServerResponse } from 'node:http';
import type { SandboxVendor, SandboxVendorOptions } from '../module.js';
import { Keyring, token } from '../../sandbox/keyring.js';
import { openaiTail } from './facts.js';
import {
  closeServer,
  bearerAuth,
  noFaults,
  nowSec,
  serveRoutes,
  sroute,
  type Reply,
  type SandboxRequest,
} from '../../sandbox/http.js';
import { chat, embeddings, responses, type ErrorReply } from './sandbox-models.js';

/**
 * OpenAI, as openai.yaml documents it: the model endpoints (sandbox-models.ts) and the admin
 * API for a project's service accounts and API keys. Admin calls need the admin key
 * (`sk-admin-…`); model calls need a project or service-account key. A service account's key
 * cannot be deleted on its own (400: delete the service account); a deleted key or account is 404.
 */
export interface OpenAISandbox extends SandboxVendor {
  adminKey: string;
  projectId: string;
  defaultKey: { id: string; secret: string; admin_key: string; project_id: string };
}

const err: ErrorReply = (status, message, type, code, param = null) => ({
  status,
  body: { error: { message, type, param, code } },
});
const notFound = (what: string, id: string) => err(404, `No such ${what}: ${id}`, 'invalid_request_error', 'not_found');

interface ServiceAccount {
  object: 'organization.project.service_account';
  id: string;
  name: string;
  role: 'member';
  created_at: number;
}

/** One page of a list, as every admin list answers (`limit`, `after`; `has_more`, `first_id`, `last_id`). */
function page<T extends { id: string }>(r: SandboxRequest, all: T[]): Reply {
  const limit = Math.min(100, Math.max(1, Number(r.query.get('limit') ?? 20)));
  const after = r.query.get('after');
  const from = after ? all.findIndex((x) => x.id === after) + 1 : 0;
  const data = all.slice(from, from + limit);
  return {
    status: 200,
    body: {
      object: 'list',
      data,
      first_id: data[0]?.id ?? null,
      last_id: data.at(-1)?.id ?? null,
      has_more: from + limit < all.length,
    },
  };
}

export async function startOpenAISandbox(opts: SandboxVendorOptions = {}): Promise<OpenAISandbox> {
  const keys = new Keyring('openai', openaiTail, opts);
  const faults = noFaults();
  const adminKey = `sk-admin-${token(48)}`;
  const projectId = `proj_${token(24)}`;
  const accounts = new Map<string, ServiceAccount & { keyId: string }>();
  const view = ({ keyId: _k, ...sa }: ServiceAccount & { keyId: string }): ServiceAccount => sa;

  function model(handler: (r: SandboxRequest, res: ServerResponse) => Reply | Promise<Reply>) {
    return (r: SandboxRequest, res: ServerResponse) => {
      const key = bearerAuth(r.headers);
      if (!key) return err(401, "You didn't provide an API key.", 'invalid_request_error', 'missing_api_key');
      if (!keys.accept(key)) {
        const shown = opts.echoKeysInErrors ? key : `${key.slice(0, 8)}****${key.slice(-4)}`;
        return err(
          401,
          `Incorrect API key provided: ${shown}. You can find your API key at https://platform.openai.com/account/api-keys.`,
          'invalid_request_error',
          'invalid_api_key',
        );
      }
      return handler(r, res);
    };
  }

  function admin(handler: (r: SandboxRequest) => Reply) {
    return (r: SandboxRequest) => {
      if (bearerAuth(r.headers) !== adminKey)
        return err(401, 'Invalid admin key.', 'invalid_request_error', 'invalid_api_key');
      if (r.params[0] !== projectId) return notFound('project', r.params[0]!);
      return handler(r);
    };
  }

  const apiKeyView = (id: string) => {
    const k = keys.get(id)!;
    const sa = typeof k.meta.service_account === 'string' ? accounts.get(k.meta.service_account) : undefined;
    const created_at = Math.floor(k.createdAt / 1000);
    const owner = sa
      ? {
          type: 'service_account',
          service_account: { id: sa.id, name: sa.name, created_at: sa.created_at, role: sa.role },
        }
      : {
          type: 'user',
          user: { id: 'user_sandbox', email: 'owner@example.com', name: 'Sandbox Owner', created_at, role: 'owner' },
        };
    return {
      object: 'organization.project.api_key',
      id: k.id,
      name: k.name,
      redacted_value: `${k.secret.slice(0, 8)}...${k.secret.slice(-4)}`,
      created_at,
      last_used_at: null,
      owner_project_access: 'active',
      owner,
    };
  };

  function createAccount(r: SandboxRequest): Reply {
    if (typeof r.body.name !== 'string')
      return err(
        400,
        "Missing required parameter: 'name'.",
        'invalid_request_error',
        'missing_required_parameter',
        'name',
      );
    const id = `svc_acct_${token(24)}`;
    const secret = `sk-svcacct-${token(64)}`;
    const keyId = `key_${token(16)}`;
    const created_at = nowSec();
    keys.add(secret, keyId, 'Secret Key', { service_account: id });
    accounts.set(id, {
      object: 'organization.project.service_account',
      id,
      name: r.body.name,
      role: 'member',
      created_at,
      keyId,
    });
    const api_key = {
      object: 'organization.project.service_account.api_key',
      value: secret,
      name: 'Secret Key',
      created_at,
      id: keyId,
    };
    return {
      status: 200,
      body: {
        object: 'organization.project.service_account',
        id,
        name: r.body.name,
        role: 'member',
        created_at,
        api_key,
      },
    };
  }

  function deleteApiKey(r: SandboxRequest): Reply {
    const id = r.params[1]!;
    if (!keys.live(id)) return notFound('API key', id);
    if (keys.get(id)!.meta.service_account)
      return err(
        400,
        'API keys owned by service accounts cannot be deleted; delete the service account instead.',
        'invalid_request_error',
        'invalid_request',
      );
    keys.delete(id);
    return { status: 200, body: { object: 'organization.project.api_key.deleted', id, deleted: true } };
  }

  const P = '/v1/organization/projects/{project_id}';
  const routes = [
    sroute(
      'POST',
      '/v1/chat/completions',
      model((r, res) => chat(r, res, err, opts.streamDelayMs)),
    ),
    sroute(
      'POST',
      '/v1/responses',
      model((r, res) => responses(r, res, err, opts.streamDelayMs)),
    ),
    sroute(
      'POST',
      '/v1/embeddings',
      model((r) => embeddings(r, err)),
    ),
    sroute(
      'GET',
      '/v1/models',
      model(() => ({
        status: 200,
        body: {
          object: 'list',
          data: [{ id: 'gpt-4o-mini', object: 'model', created: 1721172741, owned_by: 'system' }],
        },
      })),
    ),
    sroute('POST', `${P}/service_accounts`, admin(createAccount)),
    sroute(
      'GET',
      `${P}/service_accounts`,
      admin((r) => page(r, [...accounts.values()].map(view))),
    ),
    sroute(
      'GET',
      `${P}/service_accounts/{id}`,
      admin((r) =>
        accounts.has(r.params[1]!)
          ? { status: 200, body: view(accounts.get(r.params[1]!)!) }
          : notFound('service account', r.params[1]!),
      ),
    ),
    sroute(
      'DELETE',
      `${P}/service_accounts/{id}`,
      admin((r) => {
        const sa = accounts.get(r.params[1]!);
        if (!sa) return notFound('service account', r.params[1]!);
        accounts.delete(sa.id);
        keys.delete(sa.keyId);
        return {
          status: 200,
          body: { object: 'organization.project.service_account.deleted', id: sa.id, deleted: true },
        };
      }),
    ),
    sroute(
      'GET',
      `${P}/api_keys`,
      admin((r) =>
        page(
          r,
          keys.list().map((k) => apiKeyView(k.id)),
        ),
      ),
    ),
    sroute(
      'GET',
      `${P}/api_keys/{key_id}`,
      admin((r) =>
        keys.live(r.params[1]!) ? { status: 200, body: apiKeyView(r.params[1]!) } : notFound('API key', r.params[1]!),
      ),
    ),
    sroute('DELETE', `${P}/api_keys/{key_id}`, admin(deleteApiKey)),
  ];
  const { server, url } = await serveRoutes(routes, {
    latencyMs: opts.latencyMs,
    faults,
    notFound: (r) => err(404, `Invalid URL (${r.method} ${r.path})`, 'invalid_request_error', null),
    badBody: () => err(400, 'We could not parse the JSON body of your request.', 'invalid_request_error', null),
  });
  const createKey = (name = 'Secret Key') => {
    const secret = `sk-proj-${token(64)}`;
    const id = `key_${token(16)}`;
    keys.add(secret, id, name);
    return { id, secret };
  };
  const defaultKey = { ...createKey('default'), admin_key: adminKey, project_id: projectId };
  return {
    url,
    keys,
    adminKey,
    projectId,
    createKey,
    deleteKey: (k) => keys.delete(k),
    server,
    defaultKey,
    faults,
    stop: () => closeServer(server),
  };
}
