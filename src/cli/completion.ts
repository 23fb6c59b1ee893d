import { Command } from 'commander';
import type { CommandInput, CommandSpec } from './registry.js';
import type { Ctx } from './context.js';
import { usageError } from '../core/errors.js';
import { catalogFor } from './settings.js';

/**
 * `tourniquet completion bash|zsh|fish`: a completion script generated from the command
 * registry (commands, subcommands, options), with values for the options that have a fixed
 * set (scenarios from the playbooks, vendors, formats). Install: see the README.
 */
interface Node {
  name: string;
  summary: string;
  options: Array<{ flags: string[]; description: string; takesValue: boolean }>;
  subs: Node[];
}

function toNode(spec: CommandSpec): Node {
  const cmd = new Command(spec.name);
  spec.configure?.(cmd);
  const options = cmd.options.map((o) => ({
    flags: [o.short, o.long].filter((f): f is string => !!f),
    description: o.description,
    takesValue: o.required || o.optional,
  }));
  return { name: spec.name, summary: spec.summary, options, subs: (spec.subcommands ?? []).map(toNode) };
}

const GLOBAL = [
  '--json',
  '--no-input',
  '--yes',
  '-y',
  '--dry-run',
  '--profile',
  '--no-color',
  '--debug',
  '--help',
  '-h',
  '--version',
  '-V',
];

function valueWords(scenarios: string[]): Record<string, string[]> {
  return {
    '--scenario': scenarios,
    '-s': scenarios,
    '--vendor': ['stripe', 'openai', 'anthropic', 'gemini', 'twilio', 'resend'],
    '--tail-mode': ['sampled', 'median', 'p95'],
    '--format': ['text', 'md', 'json'],
    '--input-format': ['jsonl', 'csv', 'sqlite', 'litellm'],
  };
}

const optionWords = (n: Node) => n.options.flatMap((o) => o.flags);
const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** The shell function's view: which words to offer after `cmd` or `cmd sub`. */
function table(tree: Node[]): Array<{ key: string; words: string[] }> {
  const rows = [{ key: '/', words: [...tree.map((n) => n.name), ...GLOBAL] }];
  for (const n of tree) {
    rows.push({ key: `${n.name}/`, words: [...n.subs.map((s) => s.name), ...optionWords(n), ...GLOBAL] });
    for (const s of n.subs) rows.push({ key: `${n.name}/${s.name}`, words: [...optionWords(s), ...GLOBAL] });
  }
  return rows;
}

function bash(tree: Node[], values: Record<string, string[]>): string {
  const withSubs = tree
    .filter((n) => n.subs.length)
    .map((n) => n.name)
    .join('|');
  const cases = table(tree).map((r) => `    ${quote(r.key)}) words=${quote(r.words.join(' '))} ;;`);
  const vcases = Object.entries(values).map(
    ([f, w]) => `    ${f}) COMPREPLY=( $(compgen -W ${quote(w.join(' '))} -- "$cur") ); return ;;`,
  );
  return `# tourniquet completion for bash: source <(tourniquet completion bash)
_tourniquet() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" prev="\${COMP_WORDS[COMP_CWORD-1]}" cmd="" sub="" w words
  case "$prev" in
${vcases.join('\n')}
  esac
  for w in "\${COMP_WORDS[@]:1:COMP_CWORD-1}"; do
    case "$w" in -*) ;; *)
      if [ -z "$cmd" ]; then cmd="$w"
      elif [ -z "$sub" ]; then case "$cmd" in ${withSubs || '__none__'}) sub="$w" ;; esac
      fi ;;
    esac
  done
  case "$cmd/$sub" in
${cases.join('\n')}
    *) words=${quote(GLOBAL.join(' '))} ;;
  esac
  COMPREPLY=( $(compgen -W "$words" -- "$cur") )
}
complete -F _tourniquet tourniquet
`;
}

function zsh(tree: Node[], values: Record<string, string[]>): string {
  const withSubs = tree
    .filter((n) => n.subs.length)
    .map((n) => n.name)
    .join('|');
  const cases = table(tree).map((r) => `    ${quote(r.key)}) words=(${r.words.map(quote).join(' ')}) ;;`);
  const vcases = Object.entries(values).map(([f, w]) => `    ${f}) compadd -- ${w.map(quote).join(' ')}; return ;;`);
  return `#compdef tourniquet
# tourniquet completion for zsh: source <(tourniquet completion zsh), or save as _tourniquet in your $fpath
_tourniquet() {
  local cmd="" sub="" w i
  local -a words_
  case "\${words[CURRENT-1]}" in
${vcases.join('\n')}
  esac
  for (( i = 2; i < CURRENT; i++ )); do
    w="\${words[i]}"
    case "$w" in -*) ;; *)
      if [[ -z "$cmd" ]]; then cmd="$w"
      elif [[ -z "$sub" ]]; then case "$cmd" in ${withSubs || '__none__'}) sub="$w" ;; esac
      fi ;;
    esac
  done
  local -a words
  case "$cmd/$sub" in
${cases.join('\n').replace(/words=\(/g, 'words_=(')}
    *) words_=(${GLOBAL.map(quote).join(' ')}) ;;
  esac
  compadd -- "\${words_[@]}"
}
if [[ "\${funcstack[1]}" == _tourniquet ]]; then _tourniquet "$@"; else compdef _tourniquet tourniquet; fi
`;
}

function fish(tree: Node[], values: Record<string, string[]>): string {
  const d = (s: string) => quote(s.length > 80 ? s.slice(0, 79) + '…' : s);
  const out = [
    '# tourniquet completion for fish: tourniquet completion fish > ~/.config/fish/completions/tourniquet.fish',
    'complete -c tourniquet -f',
  ];
  const opt = (cond: string, o: Node['options'][number]) => {
    const parts = o.flags.map((f) => (f.startsWith('--') ? `-l ${f.slice(2)}` : `-s ${f.slice(1)}`));
    const vals = o.flags.map((f) => values[f]).find((v) => v);
    return `complete -c tourniquet ${cond} ${parts.join(' ')}${o.takesValue ? (vals ? ` -xa ${quote(vals.join(' '))}` : ' -r') : ''} -d ${d(o.description)}`;
  };
  for (const n of tree) {
    out.push(`complete -c tourniquet -n __fish_use_subcommand -a ${n.name} -d ${d(n.summary)}`);
    const seen = `-n '__fish_seen_subcommand_from ${n.name}'`;
    const subNames = n.subs.map((s) => s.name).join(' ');
    for (const s of n.subs) {
      out.push(
        `complete -c tourniquet -n '__fish_seen_subcommand_from ${n.name}; and not __fish_seen_subcommand_from ${subNames}' -a ${s.name} -d ${d(s.summary)}`,
      );
      for (const o of s.options)
        out.push(opt(`-n '__fish_seen_subcommand_from ${n.name}; and __fish_seen_subcommand_from ${s.name}'`, o));
    }
    for (const o of n.options) out.push(opt(seen, o));
  }
  for (const g of ['json', 'no-input', 'dry-run', 'no-color', 'debug']) out.push(`complete -c tourniquet -l ${g}`);
  out.push(`complete -c tourniquet -s y -l yes`, `complete -c tourniquet -l profile -r`);
  return out.join('\n') + '\n';
}

export const SHELLS = { bash, zsh, fish } as const;

export function completionScript(shell: string, specs: CommandSpec[], scenarios: string[]): string {
  const gen = SHELLS[shell as keyof typeof SHELLS];
  if (!gen) throw usageError(`no completion for "${shell}"`, 'one of: bash, zsh, fish');
  return gen(specs.map(toNode), valueWords(scenarios));
}

export async function run({ args }: CommandInput, ctx: Ctx): Promise<number> {
  const { COMMANDS } = await import('./registry.js');
  const catalog = await catalogFor(ctx);
  ctx.out.data(completionScript(args[0] ?? '', COMMANDS, [...catalog.playbooks.keys()]));
  return 0;
}
