import type { Paint } from './color.js';
import type { Check } from '../core/doctor.js';
import { inert } from '../core/inert.js';

/** One line per item: ✔ / ✖ / –, what it checks, what it found; the fix under each failure. */
export function renderDoctor(checks: readonly Check[], ready: boolean, p: Paint): string {
  const mark = { pass: p.green('✔'), fail: p.red('✖'), skip: p.dim('–') };
  const lines = checks.flatMap((c) => [
    `${mark[c.status]} ${c.title}`,
    `    ${c.status === 'fail' ? inert(c.detail) : p.dim(inert(c.detail))}`,
    ...(c.fix && c.status === 'fail' ? [`    ${p.bold('fix:')} ${inert(c.fix)}`] : []),
  ]);
  const applicable = checks.filter((c) => !c.not_applicable);
  const failed = applicable.filter((c) => c.status !== 'pass').length;
  lines.push(
    '',
    ready
      ? p.green('ready: the 2am path is set up')
      : p.red(`not ready: ${failed} of ${applicable.length} item${applicable.length === 1 ? '' : 's'} to fix`),
  );
  return lines.join('\n') + '\n';
}
