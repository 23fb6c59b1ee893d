import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { HttpClient, HttpClientOptions, HttpRequest, HttpResponse } from '../../core/http.js';
import { TourniquetError } from '../../core/errors.js';
import { scopeRefusal } from '../../core/scope-refusal.js';

/**
 * The shared HttpClient, loaded on first use. Loading undici costs more than a hundred
 * milliseconds of a cold start; the revoke path is measured from process start, so adapters
 * import it only when they first talk HTTP (and `quickDelete` below does not wait for it).
 */
export interface LazyHttp {
  request<T = any>(req: HttpRequest): Promise<HttpResponse<T>>;
  get<T = any>(path: string, extra?: Omit<HttpRequest, 'method' | 'path'>): Promise<HttpResponse<T>>;
  post<T = any>(path: string, extra?: Omit<HttpRequest, 'method' | 'path'>): Promise<HttpResponse<T>>;
  delete<T = any>(path: string, extra?: Omit<HttpRequest, 'method' | 'path'>): Promise<HttpResponse<T>>;
  /** Start loading the client now, without waiting. */
  warm(): void;
}

export function lazyHttp(opts: HttpClientOptions): LazyHttp {
  let client: Promise<HttpClient> | undefined;
  const load = () => (client ??= import('../../core/http.js').then((m) => new m.HttpClient(opts)));
  const request = async <T>(req: HttpRequest) => (await load()).request<T>(req);
  return {
    request,
    get: (path, extra = {}) => request({ ...extra, method: 'GET', path }),
    post: (path, extra = {}) => request({ ...extra, method: 'POST', path }),
    delete: (path, extra = {}) => request({ ...extra, method: 'DELETE', path }),
    warm: () => void load().catch(() => undefined),
  };
}

/**
 * One idempotent call on node:http, for the `revoke` path only (the DELETE, then the per-instance
 * verdicts): the call that stops the agent, and the proof that it stopped, should not wait for an
 * HTTP library to load. Same error kinds as HttpClient
 * (401/403 → auth, other failures → step-failed); `accept` statuses are answers. One retry on
 * a connection error (DELETE is idempotent).
 */
export async function quickDelete(url: string, headers: Record<string, string>, o: QuickOptions): Promise<{ status: number; body: any }> {
  return quickRequest('DELETE', url, headers, o);
}

export interface QuickOptions {
  name: string;
  timeoutMs: number;
  accept: number[];
  trace?: (l: string) => void;
}

/** GET or DELETE (both idempotent) on node:http; see quickDelete. */
export async function quickRequest(method: 'GET' | 'DELETE', url: string, headers: Record<string, string>, o: QuickOptions): Promise<{ status: number; body: any }> {
  const endpoint = `${method} ${url.replace(/\?.*$/, '')}`;
  o.trace?.(`→ ${endpoint} (authorization: [redacted])`);
  for (let attempt = 1; ; attempt++) {
    try {
      const res = await once(method, url, headers, o.timeoutMs);
      o.trace?.(`← ${res.status} ${endpoint}`);
      if ((res.status >= 200 && res.status < 300) || o.accept.includes(res.status)) return res;
      const detail = res.body?.error?.message ?? res.body?.error?.code ?? '';
      if (res.status === 401 || res.status === 403) {
        const scope = scopeRefusal(res.body);
        throw new TourniquetError('auth', `${o.name} (${endpoint}) refused our credentials (HTTP ${res.status})${scope?.message ?? (detail ? `: ${detail}` : '')}`, { hint: scope?.hint ?? 'check the admin token this profile points at (tourniquet config list)' });
      }
      throw new TourniquetError('step-failed', `${o.name} (${endpoint}): HTTP ${res.status}${detail ? `: ${detail}` : ''}`);
    } catch (err) {
      if (err instanceof TourniquetError) throw err;
      if (attempt >= 2) throw new TourniquetError('step-failed', `${o.name} (${endpoint}): ${(err as Error).message}`, { hint: 'is the proxy admin API running at that address?' });
    }
  }
}

function once(method: string, url: string, headers: Record<string, string>, timeoutMs: number): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const req = (u.protocol === 'https:' ? httpsRequest : httpRequest)(u, { method, headers: { accept: 'application/json', 'user-agent': 'tourniquet', ...headers }, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let body: any;
        try {
          body = text ? JSON.parse(text) : undefined;
        } catch {
          return reject(new Error(`HTTP ${res.statusCode} body is not JSON`));
        }
        resolve({ status: res.statusCode ?? 0, body });
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`no response within ${timeoutMs / 1000} s`)));
    req.on('error', (e: NodeJS.ErrnoException) => reject(new Error(e.code === 'ECONNREFUSED' ? 'connection refused' : e.message)));
    req.end();
  });
}
