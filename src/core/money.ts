/**
 * The one way money is written, everywhere: US dollars with thousands separators and cents
 * ($9,444.00); a figure under a cent keeps its digits ($0.000125) rather than becoming $0.00.
 */
export const usd = (n: number): string =>
  '$' +
  n.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: n !== 0 && Math.abs(n) < 0.01 ? 6 : 2 });
