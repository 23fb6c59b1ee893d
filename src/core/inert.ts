/**
 * Text an agent controls (a customer_scope_id, a path, a label, a server's error message) reaches
 * the on-call's terminal through our output. A raw ESC can move the cursor, rewrite lines, set
 * the window title or write the clipboard (OSC 52); a bare CR or a newline inside a field can forge
 * a line; bidi overrides can reorder what is shown. These functions make such text inert by
 * showing each control character as a visible escape (`\x1b`, `\u202e`). JSON keeps the data
 * intact: there the characters are escaped the JSON way, which parses back to the same string.
 */

// C0 controls, DEL, C1 controls, and the bidi embedding/override/isolate marks.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;
// eslint-disable-next-line no-control-regex
const CONTROL_BUT_LINES = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;
// Our own colours: SGR only (paint() emits nothing else).
// eslint-disable-next-line no-control-regex
const SGR = /\u001b\[[0-9;]*m/y;

function visible(c: string): string {
  const code = c.charCodeAt(0);
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
}

/** One field's value (an id, a path, a label): every control character shown, newlines too. */
export function inert(value: string): string {
  return value.replace(CONTROL, visible);
}

/** Several lines of text nobody painted (an error message, a hint): newlines and tabs stay, every other control is shown. */
export function inertLines(text: string): string {
  return text.replace(CONTROL_BUT_LINES, visible);
}

/** `inert` for a value that may be missing. */
export const inertOr = (value: string | null | undefined, none: string) =>
  value === null || value === undefined ? none : inert(value);

/**
 * A block of text for a terminal (what Output prints): newlines and tabs stay, our own SGR colour
 * sequences stay, every other control character is shown. The last line of defence: renderers
 * already pass agent text through `inert`, which also neutralises colour sequences inside it.
 */
export function inertTerminal(text: string): string {
  let out = '';
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c === '\u001b') {
      SGR.lastIndex = i;
      const m = SGR.exec(text);
      if (m) {
        out += m[0];
        i += m[0].length;
        continue;
      }
    }
    out += c === '\n' || c === '\t' ? c : c.replace(CONTROL_BUT_LINES, visible);
    i++;
  }
  return out;
}

/**
 * JSON for a terminal or a pipe: JSON.stringify escapes C0 controls but not C1 controls, the
 * line separators or the bidi marks; this escapes those too, so the text is inert on a terminal
 * and `JSON.parse` gives back exactly the same data.
 */
export function inertJson(value: unknown, indent?: number): string {
  return (JSON.stringify(value, null, indent) ?? 'null').replace(
    /[\u007f-\u009f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}
