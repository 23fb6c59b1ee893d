import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * oidc-provider warns on the console about what makes this a test server rather than a
 * production one: Node 20 (it names Node 22 as its minimum; the tests run it on 20 and pass),
 * its in-memory adapter and its generated signing keys. Those expected lines are dropped while
 * it loads and starts, so a clean test run prints nothing stray; any other output goes through.
 */
async function quietly<T>(fn: () => Promise<T> | T): Promise<T> {
  const warn = console.warn;
  console.warn = (...args: unknown[]) => {
    if (!(typeof args[0] === 'string' && args[0].startsWith('oidc-provider WARNING: '))) warn(...args);
  };
  try {
    return await fn();
  } finally {
    console.warn = warn;
  }
}

/** A real authorization server (oidc-provider) on 127.0.0.1:0, with revocation, introspection and client_credentials. */
export interface RealAs {
  issuer: string;
  clientId: string;
  clientSecret: string;
  /** A fresh access token for the client, from the real token endpoint. */
  issueToken(): Promise<string>;
  requests: string[];
  close(): Promise<void>;
}

export async function startRealAs(): Promise<RealAs> {
  const clientId = 'incident-bot';
  const clientSecret = 'cs_0123456789abcdef0123456789abcdef';
  let handler: ((req: any, res: any) => void) | undefined;
  const requests: string[] = [];
  const server: Server = createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    handler!(req, res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const { default: Provider } = await quietly(() => import('oidc-provider'));
  const provider = await quietly(
    () =>
      new Provider(issuer, {
        clients: [
          {
            client_id: clientId,
            client_secret: clientSecret,
            grant_types: ['client_credentials'],
            redirect_uris: [],
            response_types: [],
            token_endpoint_auth_method: 'client_secret_basic',
          },
        ],
        features: {
          clientCredentials: { enabled: true },
          introspection: { enabled: true },
          revocation: { enabled: true },
          devInteractions: { enabled: false },
        },
        scopes: ['api:read'],
      }),
  );
  handler = provider.callback();
  return {
    issuer,
    clientId,
    clientSecret,
    requests,
    async issueToken() {
      const res = await fetch(`${issuer}/token`, {
        method: 'POST',
        headers: {
          authorization: `Basic ${Buffer.from(`${clientId}:${clientSecret}`).toString('base64')}`,
          'content-type': 'application/x-www-form-urlencoded',
        },
        body: 'grant_type=client_credentials&scope=api%3Aread',
      });
      const body = (await res.json()) as { access_token?: string };
      if (!body.access_token) throw new Error(`no token: ${JSON.stringify(body)}`);
      return body.access_token;
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
