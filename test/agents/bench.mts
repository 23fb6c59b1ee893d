// Cold-start cost of the agent commands, interleaved with `--version` so machine load shows up in both.
// Run: npm run build && npx tsx test/agents/bench.mts [runs]
import { spawn } from 'node:child_process';
import { startAgentPlatforms } from '../../src/sandbox/agent-platforms/index.js';

const runs = Number(process.argv[2] ?? 21);
const p = await startAgentPlatforms();
const env = {
  PATH: process.env.PATH,
  HOME: '/tmp/tq-bench-home',
  TOURNIQUET_CONFIG_DIR: '/tmp/tq-bench-home/config',
  ...p.env,
};
const run = (args: string[]) =>
  new Promise<number>((resolve, reject) => {
    const t0 = performance.now();
    spawn(process.execPath, ['bin/tourniquet.js', ...args], { env, stdio: 'ignore' }).on('close', (code) =>
      code === 0 ? resolve(performance.now() - t0) : reject(new Error(`exit ${code}: ${args.join(' ')}`)),
    );
  });
const q = (xs: number[], f: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil(xs.length * f) - 1)]!;
const series: Record<string, number[]> = {
  '--version': [],
  'agent disable --yes --json': [],
  'agent deactivate --yes --json': [],
};
for (let i = 0; i < runs; i++) {
  series['--version']!.push(await run(['--version']));
  series['agent disable --yes --json']!.push(
    await run(['agent', 'disable', p.accounts.addAgent('b').id, '--yes', '--json']),
  );
  series['agent deactivate --yes --json']!.push(
    await run(['agent', 'deactivate', p.agentsApi.addAgent('b').id, '--yes', '--json']),
  );
}
for (const [name, xs] of Object.entries(series))
  console.log(
    `${name.padEnd(32)} median ${q(xs, 0.5).toFixed(0).padStart(5)} ms   p95 ${q(xs, 0.95).toFixed(0).padStart(5)} ms   (${xs.length} runs, process start → exit, verified)`,
  );
await p.stop();
