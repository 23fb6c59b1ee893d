import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';

/**
 * A real terminal: the command runs in a detached tmux session; tests type with send-keys and
 * read the screen with capture-pane, as a person at the keyboard would. Each terminal has a tmux
 * server of its own (-L), so test files running in parallel never share, or race, a server.
 */
export class Terminal {
  readonly name = `tq-${randomBytes(4).toString('hex')}`;

  constructor(command: string, env: Record<string, string | undefined>, size = { width: 100, height: 40 }) {
    const exports = Object.entries(env)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => `${k}=${shellQuote(v!)}`)
      .join(' ');
    // The exit status is printed and the pane kept, so the test can read how the command ended.
    const script = `env -i ${exports} ${command}; echo "[exit $?]"; sleep 30`;
    this.tmux([
      'new-session',
      '-d',
      '-s',
      this.name,
      '-x',
      String(size.width),
      '-y',
      String(size.height),
      'sh',
      '-c',
      script,
    ]);
  }

  private tmux(args: string[]): string {
    return execFileSync('tmux', ['-L', this.name, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  }

  screen(): string {
    return this.tmux(['capture-pane', '-p', '-t', this.name]);
  }

  /** The screen and up to `lines` lines above it: what a person sees by scrolling back. */
  scrollback(lines = 500): string {
    return this.tmux(['capture-pane', '-p', '-S', String(-lines), '-t', this.name]);
  }

  /** Keys as tmux names them: 'Enter', 'Down', 'C-c', or literal text. */
  send(...keys: string[]): void {
    this.tmux(['send-keys', '-t', this.name, ...keys]);
  }

  type(text: string): void {
    this.tmux(['send-keys', '-t', this.name, '-l', text]);
  }

  async waitFor(pattern: RegExp | string, timeoutMs = 10000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const screen = this.screen();
      if (typeof pattern === 'string' ? screen.includes(pattern) : pattern.test(screen)) return screen;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${pattern}; the screen shows:\n${screen}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  async exitCode(timeoutMs = 10000): Promise<number> {
    const screen = await this.waitFor(/\[exit \d+\]/, timeoutMs);
    return Number(/\[exit (\d+)\]/.exec(screen)![1]);
  }

  close(): void {
    try {
      this.tmux(['kill-server']);
    } catch {
      /* already gone */
    }
  }
}

function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}
