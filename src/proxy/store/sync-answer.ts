/**
 * A store method that does its work synchronously, answered as the promise the interface
 * promises. The work runs now (as an `async` method's body would, up to its first `await`), and
 * a throw becomes a rejection, never a synchronous throw: callers chain `.catch()` on store
 * calls they do not await, and a throw there would escape it. (The Promise executor is what
 * turns the throw into a rejection.)
 */
export function syncAnswer<T>(work: () => T): Promise<T> {
  return new Promise<T>((resolve) => resolve(work()));
}
