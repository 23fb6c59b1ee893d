import { TourniquetError, isTourniquetError } from '../core/errors.js';
import { fieldOf, scalarText } from '../core/json.js';
import { StoreUnavailableError } from './store/types.js';

const DISK_FULL = new Set(['ENOSPC', 'EDQUOT']);
const IO = new Set(['EACCES', 'EPERM', 'EROFS', 'EIO', 'ENOTDIR', 'EISDIR', 'ENOENT', 'EEXIST']);

/**
 * Why the proxy could not start, as an error the CLI maps to an exit code (1, a step failed)
 * with the next thing to do. Store and file-system failures are never reported as a bug.
 */
export function startupError(err: unknown, store: unknown): unknown {
  if (isTourniquetError(err)) return err;
  const where = typeof store === 'string' ? store.replace(/\/\/[^@/]*@/, '//…@') : 'the store';
  const code = scalarText(fieldOf(err, 'code')) ?? '';
  const message = (err as Error)?.message ?? String(err);
  if ((err instanceof StoreUnavailableError && err.reason === 'disk_full') || DISK_FULL.has(code))
    return new TourniquetError('step-failed', `cannot start the proxy: the disk is full (${message})`, {
      hint: 'free space on the volume holding the store and its .revokes journal, then start it again',
      data: { reason: 'disk_full' },
      cause: err,
    });
  if (err instanceof StoreUnavailableError)
    return new TourniquetError('step-failed', `cannot start the proxy: ${where} is unavailable (${message})`, {
      hint: 'check that the store is reachable and writable, then start it again',
      data: { reason: err.reason },
      cause: err,
    });
  if (IO.has(code))
    return new TourniquetError('step-failed', `cannot start the proxy: ${message}`, {
      hint: 'check the paths given to --store and --revoke-journal and their permissions',
      data: { reason: 'io' },
      cause: err,
    });
  return err;
}
