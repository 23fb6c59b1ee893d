#!/usr/bin/env node
// The only place that calls process.exit. Everything else returns an exit code.
import { main } from '../dist/main.js';

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
  code = await main(process.argv.slice(2), undefined, stop.signal);
} catch (err) {
  process.stderr.write(`tourniquet: internal error (a bug): ${err instanceof Error ? err.message : String(err)}\n`);
}
process.exitCode = code;
// Let stdout drain, then leave even if a stray handle (a socket, a timer) is still open.
process.stdout.write('', () => process.exit(code));
