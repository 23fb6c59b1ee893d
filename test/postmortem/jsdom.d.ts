/** The one corner of jsdom the chart test uses: a window for mermaid's sanitiser. */
declare module 'jsdom' {
  export class JSDOM {
    constructor(html?: string);
    readonly window: Window & typeof globalThis;
  }
}
