#!/usr/bin/env node
// The only place that calls process.exit. Everything else returns an exit code.
import { setFlagsFromString } from 'node:v8';

const argv = process.argv.slice(2);
// undici parses HTTP with WebAssembly, and V8 optimises that module in the background; exit then
// waits for the optimiser (~65 ms measured on a short command). Short-lived commands keep the
// baseline compiler; the long-running proxy keeps the optimised parser.
const longRunning = argv[0] === 'proxy' || argv[0] === 'sandbox';
if (!longRunning) setFlagsFromString('--liftoff-only');

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
