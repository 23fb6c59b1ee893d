import { mkdir, open, readdir, readFile, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';

export interface PendingRevoke {
  id: string;
  at: string;
  mode: 'soft' | 'hard';
}

/** Space written at creation, so an entry can be written on a disk that has since filled up. */
const PREALLOCATED = 64 * 1024;
const SUFFIX = '.revokes';

/** `R <id> <at> <mode>` (refused here, not yet in the store) and `D <id>` (in the store, or no such key). */
function parse(text: string, into: Map<string, PendingRevoke>): void {
  for (const line of text.split('\n')) {
    const [op, id, at, mode] = line.split(' ');
    if (op === 'R' && id && at && (mode === 'soft' || mode === 'hard')) into.set(id, { id, at, mode });
    else if (op === 'D' && id) into.delete(id);
  }
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/**
 * Revokes this instance refused but could not yet write to the store, in a local file next to
 * the instance, fsynced before the revoke is answered: a restart (even with the store still
 * down) replays them, so the key stays refused until the store has it. One file per instance
 * (`<instance>-<pid>.revokes` in the directory); on start an instance takes over the pending
 * entries of every file in the directory and removes the files of processes that are gone.
 * The file is preallocated and written in place (not appended), so a full disk does not stop
 * an entry from being written (except on copy-on-write filesystems).
 */
export class RevokeJournal {
  private readonly pending = new Map<string, PendingRevoke>();
  private offset = 0;
  private size = PREALLOCATED;
  private chain: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly fh: FileHandle,
    readonly path: string,
  ) {}

  static async open(dir: string, instanceId: string): Promise<RevokeJournal> {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const path = join(dir, `${instanceId}-${process.pid}${SUFFIX}`);
    const fh = await open(path, 'wx+', 0o600);
    const j = new RevokeJournal(fh, path);
    try {
      await fh.write(Buffer.alloc(PREALLOCATED), 0, PREALLOCATED, 0);
      await fh.datasync();
      const inherited = new Map<string, PendingRevoke>();
      const gone: string[] = [];
      for (const name of await readdir(dir)) {
        if (!name.endsWith(SUFFIX) || join(dir, name) === path) continue;
        parse((await readFile(join(dir, name))).toString('utf8').split('\0')[0]!, inherited);
        const pid = Number(/-(\d+)\.revokes$/.exec(name)?.[1]);
        if (!pid || !alive(pid)) gone.push(join(dir, name));
      }
      // Written into this instance's file first, then the dead instances' files go.
      if (inherited.size) await j.add([...inherited.values()]);
      for (const f of gone) await unlink(f).catch(() => {});
    } catch (err) {
      await fh.close().catch(() => {});
      await unlink(path).catch(() => {});
      throw err;
    }
    return j;
  }

  entries(): PendingRevoke[] {
    return [...this.pending.values()];
  }

  /** Durable when it resolves (fdatasync). */
  add(entries: PendingRevoke[]): Promise<void> {
    const fresh = entries.filter((e) => this.pending.get(e.id)?.at !== e.at);
    if (!fresh.length) return Promise.resolve();
    for (const e of fresh) this.pending.set(e.id, e);
    return this.write(fresh.map((e) => `R ${e.id} ${e.at} ${e.mode}\n`).join(''));
  }

  /** These are in the store now (or do not exist): no longer replayed. */
  resolve(ids: string[]): Promise<void> {
    const known = ids.filter((id) => this.pending.delete(id));
    if (!known.length) return Promise.resolve();
    return this.write(known.map((id) => `D ${id}\n`).join(''));
  }

  private write(text: string): Promise<void> {
    const next = this.chain.then(() => this.writeNow(Buffer.from(text)));
    this.chain = next.catch(() => {});
    return next;
  }

  private async writeNow(buf: Buffer): Promise<void> {
    if (this.offset + buf.length <= this.size && this.pending.size) {
      await this.fh.write(buf, 0, buf.length, this.offset);
      this.offset += buf.length;
    } else await this.rewrite();
    await this.fh.datasync();
  }

  /** Only what is still pending, from the start; the rest of the used space back to zeros. */
  private async rewrite(): Promise<void> {
    const live = Buffer.from(
      this.entries()
        .map((e) => `R ${e.id} ${e.at} ${e.mode}\n`)
        .join(''),
    );
    if (live.length > this.size) {
      const grown = Math.max(this.size * 2, live.length + PREALLOCATED);
      await this.fh.write(Buffer.alloc(grown - this.size), 0, grown - this.size, this.size);
      this.size = grown;
    }
    const out = Buffer.alloc(Math.max(live.length, this.offset));
    live.copy(out);
    await this.fh.write(out, 0, out.length, 0);
    this.offset = live.length;
  }

  /** At a clean stop: with nothing pending the file goes. */
  async close(): Promise<void> {
    await this.chain;
    await this.fh.close().catch(() => {});
    if (this.pending.size === 0) await unlink(this.path).catch(() => {});
  }
}
