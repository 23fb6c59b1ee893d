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

// eslint-disable-next-line no-control-regex -- ESC starts the SGR colour codes this strips on purpose
const visible = (s: string) => [...s.replace(/\u001b\[[0-9;]*m/g, '')].length;

/**
 * Prose to a terminal width at word boundaries: a line breaks only at a space, so an id, a URL
 * or a command is never split (one longer than the width gets a line of its own). Continuation
 * lines take `indent`. Lines already shorter than the width, and newlines, are kept.
 */
export function wrap(text: string, width: number, indent = ''): string {
  if (!(width > 20)) return text;
  return text
    .split('\n')
    .map((line) => {
      if (visible(line) <= width) return line;
      const lead = /^\s*/.exec(line)![0];
      const out: string[] = [];
      let cur = lead;
      for (const word of line.slice(lead.length).split(' ')) {
        const start = cur === lead || cur === indent;
        if (!start && visible(cur) + 1 + visible(word) > width) {
          out.push(cur);
          cur = indent + word;
        } else cur += (start ? '' : ' ') + word;
      }
      out.push(cur);
      return out.join('\n');
    })
    .join('\n');
}

/** `wrap` for a stream: to its width on a terminal, untouched in a pipe (one fact per line for grep). */
export function wrapFor(stream: { isTTY?: boolean; columns?: number }, text: string, indent = ''): string {
  return stream.isTTY === true && stream.columns ? wrap(text, stream.columns - 1, indent) : text;
}
