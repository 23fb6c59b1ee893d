import { usageError } from '../../core/errors.js';

/**
 * Which proxy instances we trust with our secrets. `GET /v1/instances` is data from the store:
 * anyone who can write a row there (or run a rogue instance) could otherwise name their own
 * host and collect the admin token when `revoke` asks every instance for its verdict.
 *
 * The rule: the admin token goes to the origin of `proxy_url` (the address the operator
 * configured), and to an instance's admin URL only when its origin matches a pattern in the
 * `trusted_instances` setting. A vault key's secret (the drill's and the rotation probe's
 * throwaway keys) goes to a data-plane URL on the same host as `proxy_url`, or matching a
 * pattern. Any other instance is reported, counts as not verified, and is never contacted.
 *
 * A pattern is an origin, `scheme://host[:port]`, where `*` stands for part of one host label
 * (`https://proxy-*.internal:8788`, `http://10.0.1.*:8788`) and a port of `*` for any port.
 */
export interface InstanceTrust {
  /** May the admin token be sent to this admin URL? */
  admin(url: string): boolean;
  /** May a vault key's secret be sent to this data-plane URL? */
  dataPlane(url: string): boolean;
  /** What is trusted, for messages. */
  describe(): string;
}

interface Pattern {
  protocol: string;
  host: RegExp;
  port: string;
  text: string;
}

const escape = (s: string) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&');

/** Parse one pattern; a malformed one is a usage error naming it (config validation uses this too). */
export function parseTrustPattern(text: string): Pattern {
  const m = /^(https?):\/\/([A-Za-z0-9*.-]+|\[[0-9a-fA-F:.]+\])(?::(\d{1,5}|\*))?\/?$/.exec(text.trim());
  if (!m)
    throw usageError(
      `trusted_instances: "${text}" is not an origin pattern`,
      'use scheme://host[:port], * within a host label or as the port: https://proxy-*.internal:8788',
    );
  const [, protocol, host, port] = m;
  const hostRe = new RegExp(`^${escape(host!.toLowerCase()).replace(/\*/g, '[^.:]*')}$`);
  return { protocol: `${protocol}:`, host: hostRe, port: port ?? (protocol === 'https' ? '443' : '80'), text };
}

export function parseTrustPatterns(value: string | undefined): Pattern[] {
  return (value ?? '')
    .split(/[\s,]+/)
    .filter(Boolean)
    .map(parseTrustPattern);
}

function parse(url: string): URL | undefined {
  try {
    const u = new URL(url);
    return u.protocol === 'http:' || u.protocol === 'https:' ? u : undefined;
  } catch {
    return undefined;
  }
}

const portOf = (u: URL) => u.port || (u.protocol === 'https:' ? '443' : '80');

function matches(p: Pattern, u: URL): boolean {
  return p.protocol === u.protocol && p.host.test(u.hostname.toLowerCase()) && (p.port === '*' || p.port === portOf(u));
}

export function instanceTrust(proxyUrl: string, patternText: string | undefined): InstanceTrust {
  const base = parse(proxyUrl);
  const patterns = parseTrustPatterns(patternText);
  const listed = (u: URL) => patterns.some((p) => matches(p, u));
  return {
    admin(url) {
      const u = parse(url);
      return !!u && !u.username && !u.password && ((!!base && u.origin === base.origin) || listed(u));
    },
    dataPlane(url) {
      const u = parse(url);
      return !!u && !u.username && !u.password && ((!!base && u.hostname === base.hostname) || listed(u));
    },
    describe() {
      const list = patterns.map((p) => p.text).join(', ');
      return `${base?.origin ?? proxyUrl}${list ? ` and ${list}` : ''} (trusted_instances)`;
    },
  };
}
