/**
 * Wait for a condition instead of sleeping for a guessed time: a sleep long enough on a quiet
 * machine is too short on a busy one, and wastes time on both. Fails with what it waited for.
 */
export async function pollUntil<T>(
  what: string,
  probe: () => T | Promise<T>,
  o: { timeoutMs?: number; everyMs?: number } = {},
): Promise<NonNullable<T>> {
  const deadline = performance.now() + (o.timeoutMs ?? 10_000);
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v) return v;
      last = v;
    } catch (err) {
      last = err;
    }
    if (performance.now() > deadline)
      throw new Error(
        `waited ${o.timeoutMs ?? 10_000} ms for ${what}; last: ${last instanceof Error ? last.message : JSON.stringify(last)}`,
      );
    await new Promise((r) => setTimeout(r, o.everyMs ?? 20));
  }
}
