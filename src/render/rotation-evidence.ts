import type { RotationEvidence } from '../core/rotation/evidence.js';

/** The evidence record as Markdown: the step summary of a CI run and the file a reviewer keeps. */
const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
const day = (iso: string | null) => (iso ? iso.slice(0, 10) : '—');

function headline(e: RotationEvidence): string {
  if (e.outcome === 'nothing-due')
    return `✅ nothing due: ${e.vendor} key \`${e.key_checked.id}\` is ${e.key_checked.age_days} days old, due ${day(e.key_checked.due_at)}`;
  if (e.verified)
    return `✅ rotated and verified: ${e.vendor} \`${e.key_checked.id}\` → \`${e.new_key?.id ?? '?'}\`, 0 failed calls`;
  if (e.outcome === 'done') return `❌ rotated, but ${e.probe?.failed ?? '?'} probe call(s) failed during the rotation`;
  return `❌ ${e.outcome}${e.error ? `: ${cell(e.error)}` : ''}`;
}

function where(e: RotationEvidence): string {
  const g = e.ran_on.github;
  if (!g) return `host \`${e.ran_on.host}\``;
  const url =
    g.server_url && g.repository && g.run_id ? `${g.server_url}/${g.repository}/actions/runs/${g.run_id}` : null;
  return `GitHub Actions ${g.repository ?? ''} · workflow ${g.workflow ?? '?'} · run ${url ? `[${g.run_id}](${url})` : (g.run_id ?? '?')}${g.run_attempt ? ` (attempt ${g.run_attempt})` : ''} · ${g.event ?? ''} by ${g.actor ?? '?'}`;
}

export function renderEvidenceMarkdown(e: RotationEvidence): string {
  const out = [
    `### Scheduled rotation, ${e.vendor}: ${headline(e)}`,
    '',
    `- **When:** ${e.generated_at} · **Where:** ${where(e)} · tourniquet ${e.tool.version}`,
    `- **Policy:** ${e.policy ? `maximum age ${e.policy.max_age} (${e.policy.source})` : 'resumed run'}`,
    `- **Key checked:** \`${e.key_checked.id}\` ${e.key_checked.hint}, held since ${e.key_checked.created_at} (${e.key_checked.age_days} days), due ${day(e.key_checked.due_at)}`,
  ];
  if (e.outcome === 'nothing-due') return [...out, '- **Vendor calls:** none (nothing was due)', ''].join('\n');
  if (e.new_key)
    out.push(`- **New key:** \`${e.new_key.id}\` ${e.new_key.hint}, next due ${day(e.new_key.next_due_at)}`);
  out.push(
    `- **Incident:** \`${e.incident_id}\`${e.resumed_from ? ' (resumed: an earlier run left it unfinished)' : ''}`,
  );
  if (e.probe) {
    const failures = Object.entries(e.probe.failures)
      .map(([s, n]) => `${n} × ${s === '0' ? 'no answer' : `HTTP ${s}`}`)
      .join(', ');
    out.push(
      `- **Probe:** ${e.probe.calls} calls through the proxy (GET ${e.probe.path}, one every ${e.probe.interval_ms} ms) from ${e.probe.started_at} to ${e.probe.stopped_at}: **${e.probe.failed} failed**${failures ? ` (${failures})` : ''}`,
    );
  }
  if (e.old_key_refused_by_vendor_after_s !== null)
    out.push(`- **Old key:** refused by the vendor ${e.old_key_refused_by_vendor_after_s} s after its deletion`);
  out.push('', '| step | state | verified how | ms |', '|---|---|---|---:|');
  for (const s of e.steps)
    out.push(
      `| ${cell(s.title)} | ${s.state} | ${s.verified === null ? '' : s.verified ? '✅ ' : '❌ '}${cell(s.how)} | ${s.ms ?? ''} |`,
    );
  return out.join('\n') + '\n';
}
