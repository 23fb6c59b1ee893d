import type { PlannedCall } from '../../vendors/types.js';

/**
 * Agent platforms: the agent-accounts API of seed 000 (`accounts`: status disabled/archived,
 * delete, create with a budget) and the OAuth Agents API of seed 003 (`agents-api`: active=false
 * revokes every token, rotate-dpop-key). Every action re-reads the agent afterwards; `verified`
 * says whether the platform now shows what we asked for.
 */
export type AgentPlatformId = 'accounts' | 'agents-api';

export interface AgentPlatformConfig {
  baseUrl: string;
  /** The admin API key, already read from its reference. */
  adminKey: string;
  trace?: (line: string) => void;
  timeouts?: { connectMs?: number; headersMs?: number; bodyMs?: number };
  onSecret?: (secret: string) => void;
}

export type AccountStatus = 'active' | 'disabled' | 'archived' | (string & {});

export interface AgentAccount {
  id: string;
  name?: string;
  status: AccountStatus;
  budget?: number;
}

export type StatusChange =
  | {
      status: 'disabled' | 'archived';
      agent_id: string;
      previous: AccountStatus;
      verified: boolean;
      observed: AccountStatus | 'gone';
    }
  | {
      status: 'already-disabled' | 'already-archived';
      agent_id: string;
      verified: boolean;
      observed: AccountStatus | 'gone';
    };

export type DeleteOutcome =
  | { status: 'deleted'; agent_id: string; verified: boolean }
  | { status: 'already-deleted'; agent_id: string; verified: boolean };

export interface CreatedAgent {
  status: 'created';
  agent_id: string;
  name: string;
  budget: number;
  /** The new agent's key as a hint only; the secret itself is in `secret`, never printed. */
  key_hint: string;
  secret: string;
  verified: boolean;
}

export interface OAuthAgent {
  id: string;
  name?: string;
  active: boolean;
  client_id?: string;
}

export type DeactivateOutcome =
  | { status: 'deactivated'; agent_id: string; verified: boolean; observed_active: boolean }
  | { status: 'already-deactivated'; agent_id: string; verified: boolean; observed_active: boolean };

export interface DpopRotation {
  status: 'rotated';
  agent_id: string;
  old_jkt: string;
  new_jkt: string;
  /** The thumbprint we computed locally from the JWK we sent. */
  expected_jkt: string;
  /** The server's new_jkt equals our thumbprint. */
  verified: boolean;
  revoked_token_count: number;
  audit_event_id: string;
}

export type { PlannedCall };
