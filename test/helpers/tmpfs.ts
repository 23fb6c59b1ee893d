import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A small tmpfs for disk-full tests. Mounting needs root: the suite runs as root in CI (where a
 * failure to mount is an error); elsewhere the tests that need it are skipped, with the reason.
 */
export function tmpfsSkipReason(): string | null {
  if (process.getuid?.() === 0) return null;
  if (process.env.CI) throw new Error('the disk-full tests need root to mount a tmpfs, and CI runs as root');
  return 'not root: cannot mount a tmpfs for the disk-full tests';
}

export interface Tmpfs {
  dir: string;
  /** Bytes still free. */
  free(): number;
  /** Fill the volume until at most `leaveBytes` are free (a filler file); returns its path. */
  fill(leaveBytes?: number): string;
  destroy(): void;
}

export function mountTmpfs(sizeMiB: number): Tmpfs {
  const dir = mkdtempSync(join(tmpdir(), 'tq-tmpfs-'));
  const res = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeMiB}m,mode=0700`, 'tmpfs', dir], {
    encoding: 'utf8',
  });
  if (res.status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`mount tmpfs failed: ${res.stderr}`);
  }
  let fillers = 0;
  return {
    dir,
    free: () => {
      const s = statfsSync(dir);
      return s.bavail * s.bsize;
    },
    fill(leaveBytes = 0) {
      const path = join(dir, `filler-${++fillers}`);
      const s = statfsSync(dir);
      const want = Math.max(0, s.bavail * s.bsize - leaveBytes);
      try {
        writeFileSync(path, Buffer.alloc(want));
      } catch {
        // ENOSPC part way: as full as it gets
      }
      return path;
    },
    destroy() {
      spawnSync('umount', ['-l', dir]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
