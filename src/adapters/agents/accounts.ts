import { HttpClient } from '../../core/http.js';
import { TourniquetError } from '../../core/errors.js';
import { redactHint } from '../../core/secrets.js';
import { fieldOf } from '../../core/json.js';
import type {
  AccountStatus,
  AgentAccount,
  AgentPlatformConfig,
  CreatedAgent,
  DeleteOutcome,
  PlannedCall,
  StatusChange,
} from './types.js';

/**
 * The agent-accounts API of seed 000: PATCH /agents/{id} {status: disabled|archived},
 * DELETE /agents/{id}, POST /agents {name, budget} → {id, api_key}. GET /agents/{id} re-reads
 * the agent to verify. A disabled agent's key is refused (402) on its next call; archive keeps
 * history; delete removes the account (transactions stay queryable for 90 days).
 */
export class AgentAccountsPlatform {
  private readonly http: HttpClient;

  constructor(private readonly cfg: AgentPlatformConfig) {
    cfg.onSecret?.(cfg.adminKey);
    this.http = new HttpClient({
      baseUrl: cfg.baseUrl,
      name: 'the agent accounts API',
      headers: { authorization: `Bearer ${cfg.adminKey}` },
      trace: cfg.trace,
      timeouts: cfg.timeouts,
    });
  }

  private path(id: string): string {
    return `/agents/${encodeURIComponent(id)}`;
  }

  /** The agent, or undefined when the platform does not know it (404). */
  async get(id: string): Promise<AgentAccount | undefined> {
    const res = await this.http.request<AgentAccount>({
      method: 'GET',
      path: this.path(id),
      accept: [404],
      expect: (b) => (typeof fieldOf(b, 'status') === 'string' || fieldOf(b, 'error') ? undefined : 'no status'),
    });
    return res.status === 404 ? undefined : res.body;
  }

  /** Every agent, following the cursor (`starting_after` = last id) while `has_more`. */
  async list(maxPages = 50): Promise<AgentAccount[]> {
    const all: AgentAccount[] = [];
    let after: string | undefined;
    for (let page = 0; page < maxPages; page++) {
      const res = await this.http.request<{ data: AgentAccount[]; has_more: boolean }>({
        method: 'GET',
        path: '/agents',
        query: { limit: 100, starting_after: after },
        expect: (b) => (Array.isArray(fieldOf(b, 'data')) ? undefined : 'no "data" list'),
      });
      all.push(...res.body.data);
      if (!res.body.has_more || res.body.data.length === 0) break;
      after = res.body.data.at(-1)!.id;
    }
    return all;
  }

  /** Disable (stops it on its next call) or archive (retired, history kept). Idempotent. */
  async setStatus(id: string, target: 'disabled' | 'archived'): Promise<StatusChange> {
    const before = await this.get(id);
    if (!before) throw agentNotFound(id, this.cfg.baseUrl);
    const previous = before.status;
    // Setting a status to a fixed value is idempotent, so a 502/503 may be retried (the key enables that).
    if (previous !== target)
      await this.http.request({ method: 'PATCH', path: this.path(id), json: { status: target }, idempotencyKey: true });
    const after = await this.get(id);
    const observed: AccountStatus | 'gone' = after?.status ?? 'gone';
    const verified = observed === target;
    if (previous === target)
      return {
        status: target === 'disabled' ? 'already-disabled' : 'already-archived',
        agent_id: id,
        verified,
        observed,
      };
    return { status: target, agent_id: id, previous, verified, observed };
  }

  /** Delete the account; an agent already gone is `already-deleted`. Verified when a re-read says 404. */
  async delete(id: string): Promise<DeleteOutcome> {
    const res = await this.http.request({ method: 'DELETE', path: this.path(id), accept: [404] });
    const verified = (await this.get(id)) === undefined;
    return { status: res.status === 404 ? 'already-deleted' : 'deleted', agent_id: id, verified };
  }

  /** A replacement agent with its own key and budget. Verified when a re-read shows it active. */
  async create(name: string, budget: number): Promise<CreatedAgent> {
    const res = await this.http.request<{ id: string; api_key: string }>({
      method: 'POST',
      path: '/agents',
      json: { name, budget },
      idempotencyKey: true,
      expect: (b) =>
        typeof fieldOf(b, 'id') === 'string' && typeof fieldOf(b, 'api_key') === 'string'
          ? undefined
          : 'missing id or api_key',
    });
    const { id, api_key: secret } = res.body;
    this.cfg.onSecret?.(secret);
    const after = await this.get(id);
    return {
      status: 'created',
      agent_id: id,
      name,
      budget,
      key_hint: redactHint(secret),
      secret,
      verified: after?.status === 'active',
    };
  }

  plan(action: 'disable' | 'archive' | 'delete' | 'create', id = '{agent_id}'): PlannedCall[] {
    const read = { method: 'GET', url: this.http.url(this.path(id)), what: 'read the agent' };
    if (action === 'create')
      return [
        { method: 'POST', url: this.http.url('/agents'), what: 'create the replacement agent with its budget' },
        { method: 'GET', url: this.http.url('/agents/{new_id}'), what: 'verify: the new agent is active' },
      ];
    if (action === 'delete')
      return [
        { method: 'DELETE', url: this.http.url(this.path(id)), what: 'delete the agent account' },
        { ...read, what: 'verify: the agent is gone (404)' },
      ];
    const status = action === 'disable' ? 'disabled' : 'archived';
    return [
      read,
      { method: 'PATCH', url: this.http.url(this.path(id)), what: `set status "${status}"` },
      { ...read, what: `verify: status is "${status}"` },
    ];
  }
}

export function agentNotFound(id: string, baseUrl: string): TourniquetError {
  return new TourniquetError('not-found', `agent ${id} not found at ${baseUrl}`, {
    hint: 'check the agent id and the platform URL (--base-url)',
    data: { agent_id: id },
  });
}
