// The package ships no types: what its parser returns, as far as the tests read it.
declare module 'parse-prometheus-text-format' {
  const parse: (
    text: string,
  ) => Array<{ name: string; help: string; type: string; metrics: Array<Record<string, any>> }>;
  export default parse;
}
