#!/usr/bin/env node
// The benchmark suite: every test/bench/*.mjs that exports `bench()` runs in turn. Pass names to
// run only some (`npm run bench -- cold-start proxy`): their figures go to latest-NAMES.{json,md}.
// With `--update`, the suites run replace their own entries in latest.{json,md} instead, so one
// suite can be re-measured without rerunning the rest; each suite keeps the time and the machine
// load it was measured at, because figures taken at different loads are not comparable.
import { readdirSync, writeFileSync, readFileSync, existsSync, mkdirSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import os from 'node:os';

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, 'results');
const args = process.argv.slice(2);
const update = args.includes('--update');
const only = args.filter((a) => a !== '--update');
const files = readdirSync(here)
  .filter((f) => f.endsWith('.mjs') && f !== 'run.mjs' && !f.startsWith('_'))
  .filter((f) => only.length === 0 || only.some((o) => f.startsWith(o)))
  .sort();

const fmt = (v) =>
  typeof v === 'number' ? (Number.isInteger(v) ? String(v) : v.toFixed(v < 10 ? 2 : 1)) : String(v ?? '');
const loadNow = () => os.loadavg().map((l) => Number(l.toFixed(2)));

const suites = [];
for (const file of files) {
  const mod = await import(pathToFileURL(join(here, file)).href);
  if (typeof mod.bench !== 'function') continue;
  process.stderr.write(`bench: ${file} …\n`);
  const started = Date.now();
  const at = new Date(started).toISOString();
  const loadBefore = loadNow();
  try {
    const result = await mod.bench();
    suites.push({
      file,
      at,
      load: { before: loadBefore, after: loadNow() },
      seconds: (Date.now() - started) / 1000,
      ...result,
    });
  } catch (err) {
    process.stderr.write(`bench: ${file} failed: ${err?.stack ?? err}\n`);
    suites.push({
      file,
      at,
      load: { before: loadBefore, after: loadNow() },
      name: file,
      error: String(err?.message ?? err),
      rows: [],
    });
    process.exitCode = 1;
  }
}

const target = join(out, update || only.length === 0 ? 'latest.json' : `latest-${only.join('-')}.json`);
const previous = update && existsSync(target) ? (JSON.parse(readFileSync(target, 'utf8')).suites ?? []) : [];
const merged = [...previous.filter((s) => !suites.some((n) => n.file === s.file)), ...suites].sort((a, b) =>
  a.file.localeCompare(b.file),
);
const report = {
  at: new Date().toISOString(),
  machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, node: process.version },
  suites: merged,
};

const md = [
  `# Benchmarks (${report.at})`,
  '',
  `Node ${process.version}, ${report.machine.cpus} cores (${report.machine.model})`,
  '',
];
for (const s of merged) {
  md.push(`## ${s.name}`, '');
  if (s.at)
    md.push(`${s.file}, measured ${s.at} at load ${s.load.before.join(' ')} (after: ${s.load.after.join(' ')})`, '');
  if (s.error) md.push(`failed: ${s.error}`, '');
  if (s.note) md.push(s.note, '');
  md.push('| metric | value | unit | baseline | ratio | target |', '|---|---:|---|---:|---:|---|');
  for (const r of s.rows)
    md.push(
      `| ${r.metric} | ${fmt(r.value)} | ${r.unit ?? ''} | ${fmt(r.baseline)} | ${fmt(r.ratio)} | ${r.target ?? ''} |`,
    );
  md.push('');
}
mkdirSync(out, { recursive: true });
writeFileSync(target, JSON.stringify(report, null, 2) + '\n');
writeFileSync(target.replace(/\.json$/, '.md'), md.join('\n'));
process.stdout.write(md.join('\n') + '\n');
process.stderr.write(`bench: results in ${target} and .md\n`);
