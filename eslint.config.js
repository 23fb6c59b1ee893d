import { createRequire, Module } from 'node:module';

// typescript-eslint needs TypeScript's JavaScript API, which TypeScript 7 (the project's
// compiler) does not ship. TypeScript's side-by-side package @typescript/typescript6 carries it;
// the linter's own `typescript` imports are pointed there, nothing else's.
const require = createRequire(import.meta.url);
const resolveFilename = Module._resolveFilename;
const linterFile = /[\\/](@typescript-eslint[\\/][^\\/]+|typescript-eslint|ts-api-utils)[\\/]/;
Module._resolveFilename = function (request, parent, ...rest) {
  if (/^typescript(\/|$)/.test(request) && linterFile.test(parent?.filename ?? ''))
    return require.resolve(request.replace(/^typescript/, '@typescript/typescript6'));
  return resolveFilename.call(this, request, parent, ...rest);
};

const NODE_GLOBALS = [
  'process',
  'console',
  'Buffer',
  'URL',
  'URLSearchParams',
  'fetch',
  'performance',
  'AbortController',
  'AbortSignal',
  'setTimeout',
  'clearTimeout',
  'setInterval',
  'clearInterval',
  'setImmediate',
  'queueMicrotask',
  'structuredClone',
  'TextEncoder',
  'TextDecoder',
];

const { default: js } = await import('@eslint/js');
const { default: tseslint } = await import('typescript-eslint');

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'test/bench/results/', 'test/bench/.data/', 'coverage/'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        projectService: { allowDefaultProject: ['*.config.ts', '*.config.js'] },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' },
      ],
      // A floating promise is a lost error at 02:14: every one must be awaited, returned or voided.
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      // A fake server's routes read `fake`, which exists only once the server has started: a
      // forward reference through closures, assigned once. `const` cannot express it.
      'prefer-const': ['error', { ignoreReadBeforeAssign: true }],
    },
  },
  {
    // Tests poke at JSON answers: `any` there is the point, not a leak.
    // Their fakes implement the async interfaces (ProxyAdapter, VendorAdapter, Step.run) with
    // `async` methods that await nothing: `async` is what keeps a fake's throw a rejection, as
    // the real adapter's would be, so require-await is off here (it stays on for src/).
    files: ['test/**'],
    rules: {
      '@typescript-eslint/require-await': 'off',
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
    },
  },
  // TypeScript checks names itself; plain JavaScript (bin/, scripts/, benchmarks) runs on Node.
  { files: ['**/*.ts'], rules: { 'no-undef': 'off' } },
  {
    files: ['**/*.js', '**/*.mjs'],
    extends: [tseslint.configs.disableTypeChecked],
    languageOptions: { globals: Object.fromEntries(NODE_GLOBALS.map((g) => [g, 'readonly'])) },
  },
);
