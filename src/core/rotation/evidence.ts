import { mkdirSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { ScheduledOutcome } from './scheduled.js';
import type { ProbeStats } from './probe.js';
import { scalarText } from '../json.js';

/**
 * What a compliance reviewer keeps from each scheduled run: which key was checked or replaced,
 * under which policy, how every step was verified, what the probe measured, where it ran. No
 * secret is in it: ids and redacted hints only (the CLI's scrubber passes over it as well).
 */
export interface RotationEvidence {
  schema: 'tourniquet.rotation-evidence/1';
  generated_at: string;
  tool: { name: 'tourniquet'; version: string };
  ran_on: { host: string; github: Record<string, string> | null };
  vendor: string;
  /** nothing-due, or the rotation's final status: done, unverified, partial, failed, rolled-back, cancelled. */
  outcome: string;
  /** Every step verified and not one failed probe call. */
  verified: boolean;
  policy: { max_age: string | null; source: string } | null;
  key_checked: { id: string; hint: string; created_at: string; age_days: number; due_at: string | null };
  new_key: { id: string; hint: string; next_due_at: string | null } | null;
  incident_id: string | null;
  resumed_from: string | null;
  steps: Array<{ title: string; state: string; verified: boolean | null; how: string; ms: number | null }>;
  probe: (Omit<ProbeStats, 'vault_key_id'> & { vault_key_id: string }) | null;
  old_key_refused_by_vendor_after_s: number | null;
  error: string | null;
}

const GITHUB_VARS: Record<string, string> = {
  repository: 'GITHUB_REPOSITORY',
  workflow: 'GITHUB_WORKFLOW',
  run_id: 'GITHUB_RUN_ID',
  run_attempt: 'GITHUB_RUN_ATTEMPT',
  ref: 'GITHUB_REF',
  sha: 'GITHUB_SHA',
  actor: 'GITHUB_ACTOR',
  event: 'GITHUB_EVENT_NAME',
  server_url: 'GITHUB_SERVER_URL',
};

function github(env: Record<string, string | undefined>): Record<string, string> | null {
  if (env.GITHUB_ACTIONS !== 'true') return null;
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(GITHUB_VARS)) if (env[v]) out[k] = env[v]!;
  return out;
}

const DAY = 86_400_000;

export function buildEvidence(
  o: ScheduledOutcome,
  ctx: { version: string; env: Record<string, string | undefined>; now?: number },
): RotationEvidence {
  const now = ctx.now ?? Date.now();
  const base = {
    schema: 'tourniquet.rotation-evidence/1' as const,
    generated_at: new Date(now).toISOString(),
    tool: { name: 'tourniquet' as const, version: ctx.version },
    ran_on: { host: hostname(), github: github(ctx.env) },
    vendor: o.key.vendor,
    policy: o.policy ? { max_age: o.policy.max_age, source: o.policy.source } : null,
    key_checked: {
      id: o.key.id,
      hint: o.key.hint,
      created_at: o.key.created_at,
      age_days: Math.floor((now - Date.parse(o.key.created_at)) / DAY),
      due_at: o.due?.due_at ?? null,
    },
  };
  if (o.kind === 'nothing-due')
    return {
      ...base,
      outcome: 'nothing-due',
      verified: true,
      new_key: null,
      incident_id: null,
      resumed_from: null,
      steps: [],
      probe: null,
      old_key_refused_by_vendor_after_s: null,
      error: null,
    };
  const s = o.execution.report.state;
  const newId = (s.new_upstream_key_id as string | undefined) ?? null;
  const status = o.execution.status;
  return {
    ...base,
    outcome: status,
    verified: status === 'done' && o.probe.failed === 0,
    new_key: newId
      ? {
          id: newId,
          hint: scalarText(s.new_hint) ?? '',
          next_due_at: o.policy?.max_age_ms ? new Date(now + o.policy.max_age_ms).toISOString() : null,
        }
      : null,
    incident_id: o.execution.incident_id,
    resumed_from: o.resumed_from,
    steps: o.execution.report.steps.map((r) => ({
      title: r.title,
      state: r.state,
      verified: r.verification ? r.verification.ok : null,
      how: r.verification?.detail ?? r.detail,
      ms: r.ms ?? null,
    })),
    probe: o.probe,
    old_key_refused_by_vendor_after_s: typeof s.tail_seconds === 'number' ? s.tail_seconds : null,
    error: o.execution.report.error?.message ?? null,
  };
}

/** Writes `rotation-VENDOR-STAMP.json` and `.md` into `dir` (0600, created 0700) and returns their paths. */
export function writeEvidence(dir: string, e: RotationEvidence, markdown: string): { json: string; markdown: string } {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const stamp = e.generated_at.replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  const file = join(dir, `rotation-${e.vendor}-${stamp}`);
  writeFileSync(`${file}.json`, JSON.stringify(e, null, 2) + '\n', { mode: 0o600 });
  writeFileSync(`${file}.md`, markdown, { mode: 0o600 });
  return { json: `${file}.json`, markdown: `${file}.md` };
}
