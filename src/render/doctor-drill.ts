import type { Paint } from './color.js';
import type { DrillResult } from '../core/drill.js';
import { renderTable } from './table.js';
import { inert } from '../core/inert.js';

/** The drill report: per instance, time to refusal and calls leaked, then the verdict. */
export function renderDrill(r: DrillResult, problems: string[], p: Paint): string {
  const table = renderTable(r.instances, [
    { header: 'instance', value: (i) => inert(i.instance_id) },
    { header: 'calls', value: (i) => String(i.calls), align: 'right' },
    {
      header: 'refused after',
      value: (i) => (i.time_to_refusal_ms === null ? p.red('never') : `${i.time_to_refusal_ms} ms`),
      align: 'right',
    },
    { header: 'leaked', value: (i) => String(i.leaked_calls), align: 'right' },
    { header: 'in flight', value: (i) => String(i.in_flight), align: 'right' },
  ]);
  const head = `Drill: throwaway ${r.vendor} vault key ${r.vault_key_id}, revoke call took ${r.revoke_call_ms} ms`;
  const verdict = problems.length
    ? problems.map((x) => p.red(`over: ${inert(x)}`)).join('\n')
    : p.green('within thresholds: every instance refused the key, no call got past it after the revoke');
  return (
    [
      p.bold(head),
      table.trimEnd(),
      verdict,
      p.dim(`the key stays revoked (kept for the audit trail); no call reached a vendor`),
    ].join('\n') + '\n'
  );
}
