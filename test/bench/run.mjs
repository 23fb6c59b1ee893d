#!/usr/bin/env node
// The benchmark suite: every test/bench/*.mjs that exports `bench()` runs in turn (pass names
// to run only some: `npm run bench -- cold-start proxy`). Figures go to
// test/bench/results/latest.json and latest.md, and a dated copy of each.
import { readdirSync, writeFileSync, mkdirSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import os from 'node:os';

const here = dirname(fileURLToPath(import.meta.url));
const only = process.argv.slice(2);
const files = readdirSync(here)
  .filter((f) => f.endsWith('.mjs') && f !== 'run.mjs' && !f.startsWith('_'))
  .filter((f) => only.length === 0 || only.some((o) => f.startsWith(o)))
  .sort();

const fmt = (v) =>
  typeof v === 'number' ? (Number.isInteger(v) ? String(v) : v.toFixed(v < 10 ? 2 : 1)) : String(v ?? '');
const suites = [];
for (const file of files) {
  const mod = await import(pathToFileURL(join(here, file)).href);
  if (typeof mod.bench !== 'function') continue;
  process.stderr.write(`bench: ${file} …\n`);
  const started = Date.now();
  try {
    const result = await mod.bench();
    suites.push({ file, seconds: (Date.now() - started) / 1000, ...result });
  } catch (err) {
    process.stderr.write(`bench: ${file} failed: ${err?.stack ?? err}\n`);
    suites.push({ file, name: file, error: String(err?.message ?? err), rows: [] });
    process.exitCode = 1;
  }
}

const report = {
  at: new Date().toISOString(),
  machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, node: process.version, load: os.loadavg() },
  suites,
};
const md = [
  `# Benchmarks (${report.at})`,
  '',
  `Node ${process.version}, ${report.machine.cpus} cores, load ${report.machine.load.map((l) => l.toFixed(2)).join(' ')}`,
  '',
];
for (const s of suites) {
  md.push(`## ${s.name}`, '');
  if (s.error) md.push(`failed: ${s.error}`, '');
  if (s.note) md.push(s.note, '');
  md.push('| metric | value | unit | baseline | ratio | target |', '|---|---:|---|---:|---:|---|');
  for (const r of s.rows)
    md.push(
      `| ${r.metric} | ${fmt(r.value)} | ${r.unit ?? ''} | ${fmt(r.baseline)} | ${fmt(r.ratio)} | ${r.target ?? ''} |`,
    );
  md.push('');
}
const out = join(here, 'results');
mkdirSync(out, { recursive: true });
const suffix = only.length ? `-${only.join('-')}` : '';
writeFileSync(join(out, `latest${suffix}.json`), JSON.stringify(report, null, 2) + '\n');
writeFileSync(join(out, `latest${suffix}.md`), md.join('\n'));
process.stdout.write(md.join('\n') + '\n');
process.stderr.write(`bench: results in ${join(out, `latest${suffix}.json`)} and .md\n`);
