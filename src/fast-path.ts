/**
 * The commands most often run cold, answered without commander and the command registry:
 * `tourniquet --help` and `tourniquet decide … --json` (a script asking for the plan). Loading
 * commander, building forty commands and the modules around them costs more than Node's own
 * start; this module loads only what these two need. It recognises their plainest forms exactly
 * and returns null for anything else (another flag, a value it is unsure of, a missing fact, a
 * team's playbooks, any error): the full CLI then runs as always, so the output is the same.
 * Built on its own into dist/fast-path.js; bin/tourniquet.js asks it first.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from './core/paths.js';
import { layoutHelp } from './help-layout.js';
import { loadSettings } from './core/config.js';
import { loadCatalog } from './core/playbooks.js';
import { decide, type Facts } from './core/decide.js';
import { rateOption } from './core/rate.js';
import { planJson } from './core/decide-json.js';

export const HELP_TEMPLATE_FILE = 'help-template.txt';

/** Anything that might be a secret (even inside a value) goes the full way, which refuses it. */
const SECRETISH = /(?:sk|rk)_(?:live|test)_|sk-[A-Za-z0-9_-]{10,}|vk_[A-Za-z0-9]{10,}|re_[A-Za-z0-9_]{10,}/;
/** Values this path takes: ids, vendor names, rates. Anything else goes the full way. */
const PLAIN_VALUE = /^[A-Za-z0-9][A-Za-z0-9_.:/-]{0,127}$/;

/** decide's options with a value, by the name commander gives them, and its flags. */
const DECIDE_VALUES: Record<string, string> = {
  '--scenario': 'scenario',
  '-s': 'scenario',
  '--vendor': 'vendor',
  '--vault-key': 'vaultKey',
  '--upstream-key': 'upstreamKey',
  '--agent': 'agent',
  '--rate': 'rate',
};
/** Global flags that change nothing in decide's JSON. */
const QUIET_FLAGS = new Set(['--no-input', '--no-color', '--yes', '-y']);

interface DecideArgs {
  opts: Record<string, string>;
  proxy: boolean;
  profile?: string;
}

/** `decide` with options this path knows, each once, and --json; null for anything else. */
function parseDecide(argv: readonly string[]): DecideArgs | null {
  if (argv[0] !== 'decide') return null;
  const out: DecideArgs = { opts: {}, proxy: true };
  let json = false;
  const seen = new Set<string>();
  for (let i = 1; i < argv.length; i++) {
    const arg = argv[i]!;
    const eq = arg.startsWith('--') ? arg.indexOf('=') : -1;
    const name = eq > 0 ? arg.slice(0, eq) : arg;
    if (seen.has(name)) return null;
    seen.add(name);
    if (name === '--json' && eq < 0) json = true;
    else if (name === '--no-proxy' && eq < 0) out.proxy = false;
    else if (QUIET_FLAGS.has(name) && eq < 0) continue;
    else if (name in DECIDE_VALUES || name === '--profile') {
      const value = eq > 0 ? arg.slice(eq + 1) : argv[++i];
      if (value === undefined || !PLAIN_VALUE.test(value)) return null;
      if (name === '--profile') out.profile = value;
      else out.opts[DECIDE_VALUES[name]!] = value;
    } else return null;
  }
  return json && out.opts.scenario ? out : null;
}

/** The plan as `decide --json` prints it, or null when the full path must answer (a fact missing, a team catalog). */
async function decideJson(args: DecideArgs, env: Record<string, string | undefined>): Promise<string | null> {
  const settings = loadSettings(env, args.profile ?? env.TOURNIQUET_PROFILE);
  const dirs = settings.list('playbooks');
  if (dirs.length > 0) return null;
  const catalog = await loadCatalog(dirs);
  const { scenario, rate, ...rest } = args.opts;
  const facts: Facts = {};
  if (rest.vendor) facts.vendor = rest.vendor;
  if (rest.vaultKey) facts.vault_key = rest.vaultKey;
  if (rest.upstreamKey) facts.upstream_key = rest.upstreamKey;
  if (rest.agent) facts.agent = rest.agent;
  const result = decide(catalog, { scenario: scenario!, facts, proxy: args.proxy, ratePerS: rateOption(rate).per_s });
  return result.status === 'plan' ? planJson(result.plan, rate) : null;
}

/**
 * What to print for argv, or null to run the full CLI. `helpWidth` is asked only for --help:
 * the terminal's columns, or undefined when the output is not a terminal (commander's rule).
 */
export async function fastPath(
  argv: readonly string[],
  env: Record<string, string | undefined>,
  helpWidth: () => number | undefined,
): Promise<string | null> {
  try {
    if (argv.some((a) => SECRETISH.test(a))) return null;
    if (argv.length === 1 && (argv[0] === '--help' || argv[0] === '-h')) {
      const template = readFileSync(join(packageRoot(), 'dist', HELP_TEMPLATE_FILE), 'utf8');
      return layoutHelp(template, helpWidth() ?? 80);
    }
    const args = parseDecide(argv);
    return args ? await decideJson(args, env) : null;
  } catch {
    return null;
  }
}
