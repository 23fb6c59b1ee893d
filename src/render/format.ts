/** 192 → "3m12s", 45 → "45 s", 0.4 → "400 ms". */
export function humanSeconds(seconds: number): string {
  if (seconds < 1) return `${Math.round(seconds * 1000)} ms`;
  if (seconds < 60) return `${+seconds.toFixed(1)} s`;
  const m = Math.floor(seconds / 60);
  const s = Math.round(seconds - m * 60);
  return s ? `${m}m${String(s).padStart(2, '0')}s` : `${m} min`;
}

/** 2.5 → "2.5 calls/s (one every 400 ms)". */
export function humanRate(perSecond: number): string {
  const every = 1 / perSecond;
  const rate = perSecond >= 1 ? `${+perSecond.toFixed(2)} calls/s` : `${+(perSecond * 60).toFixed(2)} calls/min`;
  return `${rate} (one every ${humanSeconds(every)})`;
}

export const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;
