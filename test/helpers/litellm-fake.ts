import type { ServerResponse } from 'node:http';
import { startServer, type TestServer } from './server.js';

/**
 * A loopback LiteLLM proxy, modelled on its source (BerriAI/litellm, as read for issue 12):
 * - `GET /spend/logs` (spend_management_endpoints.py, view_spend_logs): with start_date AND
 *   end_date (YYYY-MM-DD, startTime between them, end inclusive at 00:00), `summarize` defaults to
 *   true and the answer is per-day totals; `summarize=false` gives the individual logs.
 * - `GET /key/list` (key_management_endpoints.py, list_keys): `page` (from 1) and `size` (default
 *   10, at most 100); `{keys, total_count, current_page, total_pages}`.
 * - `POST /key/{key}/regenerate` is Enterprise-only: 500 on an open-source proxy.
 * - `GET /key/info?key=` answers `{key, info}`; the info has no `duration` (a generate parameter).
 * Anything else is a 599, so a test sees any request the real proxy would not understand.
 */
export type SpendLog = Record<string, unknown> & {
  startTime: string;
  spend: number;
  api_key: string;
  user?: string;
  model?: string;
};

const send = (res: ServerResponse, status: number, body: unknown) => {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
};

/** What /spend/logs answers for a query, as LiteLLM computes it. */
export function spendLogsAnswer(logs: SpendLog[], q: URLSearchParams): unknown {
  const start = q.get('start_date');
  const end = q.get('end_date');
  if (!start || !end) return logs;
  const from = Date.parse(`${start}T00:00:00Z`);
  const to = Date.parse(`${end}T00:00:00Z`);
  const within = logs.filter((l) => Date.parse(l.startTime) >= from && Date.parse(l.startTime) <= to);
  if (q.get('summarize') === 'false') return within;
  const days = new Map<
    string,
    { startTime: string; spend: number; users: Record<string, number>; models: Record<string, number> }
  >();
  for (const l of within) {
    const day = l.startTime.slice(0, 10);
    const d = days.get(day) ?? { startTime: day, spend: 0, users: {}, models: {} };
    d.spend += l.spend;
    d.users[String(l.user ?? '')] = (d.users[String(l.user ?? '')] ?? 0) + l.spend;
    d.models[String(l.model ?? '')] = (d.models[String(l.model ?? '')] ?? 0) + l.spend;
    days.set(day, d);
  }
  return [...days.values()];
}

export interface LiteLlmFake extends TestServer {
  keys: Map<string, Record<string, any>>;
}

export async function startLiteLlmFake(master: string, logs: SpendLog[] = []): Promise<LiteLlmFake> {
  const keys = new Map<string, Record<string, any>>();
  const srv = await startServer((req, res) => {
    if (req.headers.authorization !== `Bearer ${master}`)
      return send(res, 401, { error: { message: 'Authentication Error', type: 'auth_error', code: '401' } });
    const url = new URL(req.url, 'http://x');
    const body = req.body ? JSON.parse(req.body) : {};
    const route = `${req.method} ${url.pathname}`;
    if (route === 'GET /spend/logs') return send(res, 200, spendLogsAnswer(logs, url.searchParams));
    if (route === 'GET /key/info') {
      const k = keys.get(url.searchParams.get('key') ?? '');
      return k ? send(res, 200, { key: k.token, info: k }) : send(res, 404, { detail: { error: 'Key not found' } });
    }
    if (route === 'POST /key/block') {
      const k = keys.get(body.key);
      if (!k) return send(res, 404, { detail: { error: 'Key not found' } });
      k.blocked = true;
      return send(res, 200, k);
    }
    if (route === 'POST /key/generate') {
      const token = `tok_${keys.size + 1}_${Math.random().toString(16).slice(2, 8)}`;
      const expires = typeof body.duration === 'string' ? new Date(Date.now() + 3_600_000).toISOString() : null;
      keys.set(token, {
        token,
        blocked: false,
        max_budget: body.max_budget ?? null,
        budget_duration: body.budget_duration ?? null,
        rpm_limit: body.rpm_limit ?? null,
        models: body.models ?? [],
        metadata: body.metadata ?? {},
        expires,
      });
      return send(res, 200, { key: `sk-generated-${token}-abcdef`, token, expires });
    }
    if (route === 'GET /key/list') {
      const page = Number(url.searchParams.get('page') ?? 1);
      const size = Number(url.searchParams.get('size') ?? 10);
      if (!(page >= 1) || !(size >= 1 && size <= 100))
        return send(res, 422, { detail: [{ msg: 'invalid page or size' }] });
      const all = [...keys.values()];
      const items = all.slice((page - 1) * size, page * size);
      const full = url.searchParams.get('return_full_object') === 'true';
      return send(res, 200, {
        keys: full ? items : items.map((k) => k.token),
        total_count: all.length,
        current_page: page,
        total_pages: Math.ceil(all.length / size),
      });
    }
    if (req.method === 'POST' && /^\/key\/[^/]+\/regenerate$/.test(url.pathname))
      return send(res, 500, {
        error: {
          message:
            'Regenerating Virtual Keys is an Enterprise feature, You must be a LiteLLM Enterprise user to use this feature.',
          type: 'internal_server_error',
          code: '500',
        },
      });
    res.statusCode = 599;
    res.end(`unexpected ${req.method} ${req.url}`);
  });
  return Object.assign(srv, { keys });
}
