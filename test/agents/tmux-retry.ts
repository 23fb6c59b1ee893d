import { Terminal } from '../helpers/tmux.js';

/**
 * tmux races when test files run in parallel: a new session can reach a server that is exiting
 * because another file closed its last session ("server exited unexpectedly"). Try again.
 */
export function openTerminal(...args: ConstructorParameters<typeof Terminal>): Terminal {
  for (let attempt = 1; ; attempt++) {
    try {
      return new Terminal(...args);
    } catch (err) {
      if (attempt >= 5 || !String((err as Error).message).includes('server exited unexpectedly')) throw err;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 100 * attempt);
    }
  }
}
