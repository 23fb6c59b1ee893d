import { createRequire } from 'node:module';
import { dirname, sep } from 'node:path';
import { TourniquetError } from './errors.js';

/**
 * better-sqlite3 is a native module: its install script compiles it (or fetches a prebuilt
 * binary). npm skips a dependency's install script unless it is allowed (`--ignore-scripts`,
 * and npm 11's allow-scripts for global installs), and then the package is there without its
 * binary. Nothing fails until a database is opened, so every command that does not need
 * SQLite runs; the ones that do say exactly what to run instead of reporting a bug.
 */
const BINDING_MESSAGES = [/Could not locate the bindings file/, /better_sqlite3\.node/, /NODE_MODULE_VERSION/];

export function isSqliteBindingError(err: unknown): boolean {
  return (
    err instanceof Error &&
    BINDING_MESSAGES.some((re) => re.test(err.message)) &&
    /better[-_]sqlite3|bindings file/.test(err.message)
  );
}

/** Where npm must rebuild it: the folder whose node_modules holds better-sqlite3. */
export function sqliteInstallRoot(): string | null {
  try {
    const entry = createRequire(import.meta.url).resolve('better-sqlite3');
    const marker = `${sep}node_modules${sep}better-sqlite3${sep}`;
    const at = entry.lastIndexOf(marker);
    return at < 0 ? dirname(entry) : entry.slice(0, at) || sep;
  } catch {
    return null;
  }
}

export function rebuildCommand(): string {
  const root = sqliteInstallRoot();
  return root ? `npm rebuild better-sqlite3 --prefix ${root}` : 'npm rebuild better-sqlite3';
}

export function sqliteBindingError(err: unknown): TourniquetError {
  return new TourniquetError(
    'step-failed',
    "SQLite is not available here: better-sqlite3's native module was never built (npm skipped its install script)",
    {
      hint: `build it: ${rebuildCommand()} (a C++ toolchain, or network access for its prebuilt binary); or install with its script allowed: npm install -g tourniquet-cli --allow-scripts=better-sqlite3`,
      data: { rebuild: rebuildCommand() },
      cause: err,
    },
  );
}

let probed: boolean | undefined;

/** Can a SQLite database be opened in this installation? Loads the binding once. */
export async function sqliteUsable(): Promise<boolean> {
  if (probed !== undefined) return probed;
  try {
    const { default: Database } = await import('better-sqlite3');
    new Database(':memory:').close();
    probed = true;
  } catch (err) {
    if (!isSqliteBindingError(err)) throw err;
    probed = false;
  }
  return probed;
}
