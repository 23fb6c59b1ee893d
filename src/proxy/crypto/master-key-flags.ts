import { usageError } from '../../core/errors.js';
import type { MasterKeySource } from './master-key.js';

/**
 * Where the master key comes from, for `proxy serve`: `--master-key-file`, `--master-key-command`,
 * or the environment (`TOURNIQUET_MASTER_KEY_FILE`, `TOURNIQUET_MASTER_KEY`). One source at most;
 * none means production keys cannot be stored through the admin API.
 */
export function masterKeySourceFrom(
  opts: Record<string, unknown>,
  env: Record<string, string | undefined>,
): MasterKeySource | null {
  const given: MasterKeySource[] = [];
  if (typeof opts.masterKeyFile === 'string') given.push({ from: 'file', path: opts.masterKeyFile });
  if (typeof opts.masterKeyCommand === 'string') given.push({ from: 'command', command: opts.masterKeyCommand });
  if (given.length === 0 && env.TOURNIQUET_MASTER_KEY_FILE)
    given.push({ from: 'file', path: env.TOURNIQUET_MASTER_KEY_FILE });
  if (given.length === 0 && env.TOURNIQUET_MASTER_KEY !== undefined)
    given.push({ from: 'env', name: 'TOURNIQUET_MASTER_KEY', value: env.TOURNIQUET_MASTER_KEY });
  if (given.length > 1)
    throw usageError('give the master key one way: --master-key-file or --master-key-command, not both');
  return given[0] ?? null;
}
