import type { Row } from './records.js';
import type { VaultKeyRecord } from './types.js';

/** Records to rows of the SQLite tables (rows to records: records.ts). */
export function fromVaultKey(k: VaultKeyRecord, revision: number): Row {
  const { labels, allowed_endpoints, ...rest } = k;
  return {
    ...rest,
    agent: labels.agent ?? null,
    owner: labels.owner ?? null,
    allowed_endpoints: allowed_endpoints ? JSON.stringify(allowed_endpoints) : null,
    revision,
  };
}
