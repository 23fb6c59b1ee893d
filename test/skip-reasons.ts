import type { Reporter, TestModule } from 'vitest/node';

/**
 * Every skipped test, listed after the run with the reason it gave (`ctx.skip(true, reason)`),
 * so a skip is never silent; one that gave none is listed as such, to be given one.
 */
export default class SkipReasons implements Reporter {
  onTestRunEnd(modules: ReadonlyArray<TestModule>): void {
    const lines: string[] = [];
    for (const m of modules)
      for (const t of m.children.allTests('skipped')) {
        const r = t.result();
        const note = r.state === 'skipped' ? r.note : undefined;
        lines.push(`  ${t.fullName} (${m.moduleId.replace(process.cwd() + '/', '')}): ${note ?? 'no reason given'}`);
      }
    if (lines.length) process.stdout.write(`\nSkipped, and why:\n${lines.join('\n')}\n`);
  }
}
