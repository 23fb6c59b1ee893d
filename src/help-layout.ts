/**
 * `tourniquet --help` without commander: the help is built once (at build time, by commander,
 * from the registry) as a template whose items and description are markers, and laid out here
 * for the output's width exactly as commander's Help.formatItem and Help.boxWrap lay them out
 * (test/cli/fast-path.test.ts compares the two at every width).
 */

const ITEM = '\u0000I';
const WRAP = '\u0000W';
const END = '\u0000';

/** A marker for one item (term, the terms' column width, description). JSON escapes any NUL inside. */
export const itemMarker = (term: string, termWidth: number, description: string) =>
  `${ITEM}${JSON.stringify([term, termWidth, description])}${END}`;

/** A marker for a text to wrap to the full width (the command's description). */
export const wrapMarker = (text: string) => `${WRAP}${JSON.stringify(text)}${END}`;

/** Commander does not wrap into less than this. */
const MIN_WIDTH_TO_WRAP = 40;
const ITEM_INDENT = 2;
const SPACER = 2;

// Commander measures width without ANSI styles; the help has none, but measure as it does.
// eslint-disable-next-line no-control-regex -- ESC starts the SGR codes stripped on purpose
const displayWidth = (s: string) => s.replace(/\x1b\[\d*(;\d*)*m/g, '').length;

/** Wrap at whitespace, keeping existing line breaks (commander's boxWrap). */
function boxWrap(str: string, width: number): string {
  if (width < MIN_WIDTH_TO_WRAP) return str;
  const out: string[] = [];
  for (const line of str.split(/\r\n|\n/)) {
    const chunks = line.match(/[\s]*[^\s]+/g);
    if (chunks === null) {
      out.push('');
      continue;
    }
    let sum = [chunks.shift()!];
    let sumWidth = displayWidth(sum[0]!);
    for (const chunk of chunks) {
      const w = displayWidth(chunk);
      if (sumWidth + w <= width) {
        sum.push(chunk);
        sumWidth += w;
        continue;
      }
      out.push(sum.join(''));
      const next = chunk.trimStart();
      sum = [next];
      sumWidth = displayWidth(next);
    }
    out.push(sum.join(''));
  }
  return out.join('\n');
}

/** Pad the term, wrap the description beside it, indent (commander's formatItem). */
function formatItem(term: string, termWidth: number, description: string, width: number): string {
  const indent = ' '.repeat(ITEM_INDENT);
  if (!description) return indent + term;
  const padded = term.padEnd(termWidth + term.length - displayWidth(term));
  const remaining = width - termWidth - SPACER - ITEM_INDENT;
  const formatted =
    remaining < MIN_WIDTH_TO_WRAP || /\n[^\S\r\n]/.test(description)
      ? description
      : boxWrap(description, remaining).replace(/\n/g, '\n' + ' '.repeat(termWidth + SPACER));
  return indent + padded + ' '.repeat(SPACER) + formatted.replace(/\n/g, `\n${indent}`);
}

/** The template laid out for `width` columns (commander's default, 80, when the output is not a terminal). */
export function layoutHelp(template: string, width: number): string {
  // eslint-disable-next-line no-control-regex -- NUL delimits the placeholders: it cannot occur in help text
  return template.replace(/\u0000([IW])([^\u0000]*)\u0000/g, (_, kind: string, json: string) => {
    const v = JSON.parse(json) as string | [string, number, string];
    return kind === 'W' ? boxWrap(v as string, width) : formatItem(...(v as [string, number, string]), width);
  });
}
