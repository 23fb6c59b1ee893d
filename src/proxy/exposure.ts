import { usageError } from '../core/errors.js';

/**
 * Start-up checks on where the proxy listens: the admin API and the data plane on one port is a
 * usage error (not an EADDRINUSE from deep inside), and an admin API reachable beyond loopback
 * without TLS in front is warned about (admin tokens would cross the network in clear).
 */
export function splitListen(spec: string, fallbackPort: number): { host: string; port: number } {
  const m = /^(?:\[?([^\]]*)\]?:)?(\d+)$/.exec(spec.trim());
  if (!m) throw usageError(`listen address "${spec}" is not HOST:PORT`, 'e.g. 127.0.0.1:8788');
  const port = m[2] === undefined ? fallbackPort : Number(m[2]);
  if (port > 65535) throw usageError(`listen address "${spec}": port ${port} is over 65535`);
  return { host: m[1] || '127.0.0.1', port };
}

const WILDCARD = new Set(['0.0.0.0', '::', '']);

export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h === '::1' || /^127\./.test(h) || /^::ffff:127\./.test(h);
}

/** Same port on overlapping hosts (equal, or either a wildcard) cannot both be bound. */
export function checkDistinctListeners(data: string, admin: string): void {
  const d = splitListen(data, 8787);
  const a = splitListen(admin, 8788);
  if (d.port === 0 || a.port !== d.port) return;
  if (d.host === a.host || WILDCARD.has(d.host) || WILDCARD.has(a.host))
    throw usageError(
      `the admin API and the data plane both ask for port ${a.port} (--listen ${data}, --admin-listen ${admin})`,
      'give the admin API its own port, e.g. --admin-listen 127.0.0.1:8788',
    );
}

/** The warning to print at start, or null when the admin listener is on loopback (or TLS is in front). */
export function adminExposureWarning(adminListen: string, behindTls: boolean): string | null {
  const { host } = splitListen(adminListen, 8788);
  if (isLoopback(host) || behindTls) return null;
  return `the admin API listens on ${adminListen}, beyond loopback, without TLS: admin tokens and production keys sent to it cross the network in clear. Bind it to 127.0.0.1 and put a TLS-terminating proxy in front (then pass --admin-behind-tls), or keep it on a private interface behind a firewall`;
}
