#!/usr/bin/env node
// The only place that calls process.exit. Everything else returns an exit code.
import { existsSync, fstatSync, writeSync } from 'node:fs';

const argv = process.argv.slice(2);

// A git checkout runs from the bundle `npm run build` writes (npm test, npm run demo and npm pack
// build it first); the published package carries it. Without it, say so rather than a module error.
if (!existsSync(new URL('../dist/main.js', import.meta.url))) {
  process.stderr.write('tourniquet: dist/ is missing: this checkout has not been built. Run: npm run build\n');
  process.exit(1);
}

// `--help` and `decide … --json` are answered by a small module without commander (the same
// output; see src/fast-path.ts), unless TOURNIQUET_NO_FAST_PATH is set. It returns null for
// anything it does not recognise exactly, and the full CLI below runs.
if ((argv[0] === '--help' || argv[0] === '-h' || argv[0] === 'decide') && !process.env.TOURNIQUET_NO_FAST_PATH) {
  const { fastPath } = await import('../dist/fast-path.js');
  const text = await fastPath(argv, process.env, helpWidth);
  if (text !== null) writeAndExit(text);
}

/** Commander's help width: the terminal's columns; none (80) for a pipe or a file, told by fstat without making the stdout stream. */
function helpWidth() {
  if (!fstatSync(1).isCharacterDevice()) return undefined;
  return process.stdout.isTTY ? process.stdout.columns : undefined;
}

/** All of it to fd 1, then exit 0; a full non-blocking pipe (EAGAIN) hands the rest to the stream. */
function writeAndExit(text) {
  const buf = Buffer.from(text);
  for (let off = 0; off < buf.length;) {
    try {
      off += writeSync(1, buf, off);
    } catch (err) {
      if (err.code !== 'EAGAIN') process.exit(1);
      process.stdout.write(buf.subarray(off), () => process.exit(0));
      return;
    }
  }
  process.exit(0);
}

// undici parses HTTP with WebAssembly, and V8 optimises that module in the background; exit then
// waits for the optimiser (~65 ms measured on a short command). Short-lived commands keep the
// baseline compiler; the long-running proxy keeps the optimised parser.
const longRunning = argv[0] === 'proxy' || argv[0] === 'sandbox';
if (!longRunning) (await import('node:v8')).setFlagsFromString('--liftoff-only');

const { main } = await import('../dist/main.js');

// Ctrl-C outside a prompt (a prompt handles its own): ask the command to stop cleanly,
// and leave with 130 if it has not within a few seconds, or at once on a second Ctrl-C.
const stop = new AbortController();
let interrupts = 0;
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    interrupts += 1;
    stop.abort(new Error(sig));
    if (interrupts > 1) process.exit(130);
    setTimeout(() => process.exit(130), 5000).unref();
  });
}

let code = 1;
try {
  code = await main(argv, undefined, stop.signal);
} catch (err) {
  process.stderr.write(`tourniquet: internal error (a bug): ${err instanceof Error ? err.message : String(err)}\n`);
}
process.exitCode = code;
// Let stdout drain, then leave even if a stray handle (a socket, a timer) is still open.
process.stdout.write('', () => process.exit(code));
