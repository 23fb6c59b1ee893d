/** One forwarded call still running, so a hard revoke can cut it. */
export interface InflightCall {
  hardRevoked: boolean;
  abort(): void;
}

export class InflightRegistry {
  private readonly byKey = new Map<string, Set<InflightCall>>();

  add(keyId: string, call: InflightCall): void {
    let set = this.byKey.get(keyId);
    if (!set) this.byKey.set(keyId, (set = new Set()));
    set.add(call);
  }

  remove(keyId: string, call: InflightCall): void {
    const set = this.byKey.get(keyId);
    if (!set) return;
    set.delete(call);
    if (set.size === 0) this.byKey.delete(keyId);
  }

  /** Abort every call of this key; returns how many were cut. */
  abortKey(keyId: string): number {
    const set = this.byKey.get(keyId);
    if (!set) return 0;
    for (const c of set) {
      c.hardRevoked = true;
      c.abort();
    }
    return set.size;
  }

  count(keyId?: string): number {
    if (keyId) return this.byKey.get(keyId)?.size ?? 0;
    let n = 0;
    for (const s of this.byKey.values()) n += s.size;
    return n;
  }
}
