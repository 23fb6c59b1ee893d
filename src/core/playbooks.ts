import { readFileSync, readdirSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { TourniquetError, usageError } from './errors.js';
import { packageRoot } from './paths.js';
import { readCachedCatalog } from './catalog-cache.js';
import { FACTS, playbookSchema, vendorsSchema, type Fact, type StepKind } from './playbook-schema.js';
import { decodeUtf8, firstBadUtf8Line } from './text-input.js';
import { jsonText } from './json.js';

/**
 * The scenario table and the vendor facts, loaded from YAML files and validated on load.
 * A malformed file is exit 2 naming the file, the field, the line and what is wrong.
 */
export interface PlaybookStep {
  kind: StepKind;
  target: string;
  reason: string;
  continue_as?: string;
}

export interface Playbook {
  id: string;
  /** Where it sits in the scenario table; teams' own playbooks without one come last. */
  order?: number;
  title: string;
  summary: string;
  action: string;
  needs: Fact[];
  without_proxy?: string;
  steps: PlaybookStep[];
  warnings: string[];
  then?: string;
  recommend?: string;
  seeds: string[];
  /** The file it came from. */
  file: string;
}

export interface VendorFacts {
  id: string;
  title: string;
  /** How long a deleted key keeps working at the vendor's edge; null: not measured. */
  rotation_latency_s: { median: number; p95: number } | null;
  keys: { create: 'api' | 'manual' | 'none'; delete: 'api' | 'manual' | 'none'; roll?: 'api' | 'manual' | 'none' };
  auth: { scheme: 'bearer' | 'basic' | 'header'; header?: string; username?: string; template?: string };
  key_prefixes: string[];
  rotation_guide?: string;
}

/** A playbook file once its schema check passed: defaults not filled in yet, `override` still on it. */
type PlaybookFile = Omit<Playbook, 'file' | 'needs' | 'warnings' | 'seeds'> &
  Partial<Pick<Playbook, 'needs' | 'warnings' | 'seeds'>> & { override?: boolean };
/** A vendors file once its schema check passed. */
interface VendorsFile {
  vendors: Record<string, Omit<VendorFacts, 'id' | 'key_prefixes'> & { key_prefixes?: string[]; override?: boolean }>;
}

export interface Catalog {
  playbooks: Map<string, Playbook>;
  vendors: Map<string, VendorFacts>;
}

export interface Problem {
  file: string;
  field: string;
  line?: number;
  message: string;
}

export class PlaybookError extends TourniquetError {
  constructor(readonly problems: Problem[]) {
    const lines = problems.map(
      (p) => `${p.file}${p.line ? `:${p.line}` : ''}: ${p.field ? `${p.field}: ` : ''}${p.message}`,
    );
    super('usage', `invalid playbook${problems.length > 1 ? 's' : ''}:\n  ${lines.join('\n  ')}`, {
      hint: 'fix the file, or remove its directory from the playbooks setting',
      data: { problems },
    });
  }
}

/** The built-in playbooks directory, at the package's root. */
export const builtinDir = () => join(packageRoot(), 'playbooks');

const FILE_PATTERN = /\.ya?ml$/;

interface Validators {
  playbook: (data: unknown) => data is PlaybookFile;
  vendors: (data: unknown) => data is VendorsFile;
  errors: (
    v: (data: unknown) => boolean,
  ) => { instancePath: string; message?: string; params: Record<string, unknown> }[];
}

async function validators(): Promise<Validators> {
  const { default: Ajv } = await import('ajv');
  const ajv = new (Ajv as unknown as typeof import('ajv').default)({ allErrors: true, strict: false });
  // The schemas are what these types say (playbook-schema.ts); ajv checks every file against them.
  const playbook = ajv.compile<PlaybookFile>(playbookSchema);
  const vendors = ajv.compile<VendorsFile>(vendorsSchema);
  return { playbook, vendors, errors: (v) => (v as { errors?: ReturnType<Validators['errors']> | null }).errors ?? [] };
}

function describe(err: { message?: string; params: Record<string, unknown> }): string {
  if (err.params.additionalProperty) return `unknown field "${jsonText(err.params.additionalProperty)}"`;
  if (err.params.allowedValues) return `must be one of: ${(err.params.allowedValues as unknown[]).join(', ')}`;
  if (err.params.missingProperty) return `missing required field "${jsonText(err.params.missingProperty)}"`;
  return err.message ?? 'invalid';
}

/**
 * Limits on what a playbook file may be: a real one is a few kilobytes, so a cap far above that
 * stops a 50 MB file (or a YAML alias bomb) from eating seconds and memory before anyone is
 * told. UTF-8 only (a byte-order mark is fine): Latin-1 bytes would silently become U+FFFD.
 */
export const MAX_PLAYBOOK_BYTES = 256 * 1024;
export const MAX_YAML_ALIASES = 50;

/** The file's text, or the problem with it (not a file, unreadable, too large, not UTF-8). */
function readPlaybookText(file: string): { text?: string; problem?: Problem } {
  const problem = (message: string, line?: number) => ({ problem: { file, field: '', line, message } });
  let bytes: Buffer;
  try {
    const st = statSync(file);
    if (st.isDirectory()) return problem('is a directory, not a playbook file');
    if (!st.isFile()) return problem('is not a regular file');
    if (st.size > MAX_PLAYBOOK_BYTES)
      return problem(`is ${st.size} bytes; a playbook may be at most ${MAX_PLAYBOOK_BYTES}`);
    bytes = readFileSync(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return problem(
      code === 'ELOOP' ? 'is a symbolic link that loops' : `cannot be read (${code ?? (err as Error).message})`,
    );
  }
  const text = decodeUtf8(bytes);
  return text === undefined ? problem('is not UTF-8 text', firstBadUtf8Line(bytes)) : { text };
}

async function parseFile<T>(
  file: string,
  validate: (data: unknown) => data is T,
  v: Validators,
): Promise<{ data?: T; problems: Problem[] }> {
  const { parseDocument, LineCounter } = await import('yaml');
  const lineCounter = new LineCounter();
  const { text, problem } = readPlaybookText(file);
  if (problem) return { problems: [problem] };
  const doc = parseDocument(text!, { lineCounter, prettyErrors: false });
  if (doc.errors.length)
    return {
      problems: doc.errors.map((e) => ({
        file,
        field: '',
        line: lineCounter.linePos(e.pos[0]).line,
        message: `YAML: ${e.message.split('\n')[0]}`,
      })),
    };
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: MAX_YAML_ALIASES });
  } catch (err) {
    // yaml throws a ReferenceError for an alias bomb (and for an alias to nothing).
    return {
      problems: [
        { file, field: '', line: 1, message: `YAML: ${(err as Error).message} (at most ${MAX_YAML_ALIASES} aliases)` },
      ],
    };
  }
  if (validate(data)) return { data, problems: [] };
  const problems = v.errors(validate).map((err) => {
    const path = err.instancePath
      .split('/')
      .slice(1)
      .map((p) => (/^\d+$/.test(p) ? Number(p) : p));
    const missing = err.params.missingProperty !== undefined;
    const node = doc.getIn(path, true) as { range?: [number, number] } | undefined;
    const where = node?.range ?? (doc.contents as { range?: [number, number] } | null)?.range;
    const field =
      path
        .map((p) => (typeof p === 'number' ? `[${p}]` : `.${p}`))
        .join('')
        .replace(/^\./, '') || (missing ? '(top level)' : '');
    return { file, field, line: where ? lineCounter.linePos(where[0]).line : undefined, message: describe(err) };
  });
  return { problems };
}

function listFiles(dir: string): string[] {
  let names: string[];
  try {
    if (!statSync(dir).isDirectory()) throw usageError(`playbook directory ${dir} is not a directory`);
    names = readdirSync(dir);
  } catch (err) {
    if (err instanceof TourniquetError) throw err;
    throw usageError(
      `cannot read playbook directory ${dir}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`,
      'check the playbooks setting (tourniquet config list)',
    );
  }
  return names
    .filter((n) => FILE_PATTERN.test(n))
    .sort()
    .map((n) => join(dir, n));
}

const isVendorFile = (file: string) => /^vendors\.ya?ml$/.test(basename(file));
const PLACEHOLDER = /\{([a-z_]+)\}/g;

function crossCheck(catalog: Catalog, problems: Problem[]): void {
  for (const pb of catalog.playbooks.values()) {
    const refs = [pb.without_proxy, ...pb.steps.map((s) => s.continue_as)].filter((r): r is string => r !== undefined);
    for (const ref of refs)
      if (!catalog.playbooks.has(ref))
        problems.push({
          file: pb.file,
          field: 'without_proxy/continue_as',
          message: `names scenario "${ref}", which no playbook defines`,
        });
    pb.steps.forEach((s, i) => {
      for (const [, fact] of s.target.matchAll(PLACEHOLDER))
        if (!(FACTS as readonly string[]).includes(fact!))
          problems.push({
            file: pb.file,
            field: `steps[${i}].target`,
            message: `unknown placeholder {${fact}}; use one of ${FACTS.map((f) => `{${f}}`).join(', ')}`,
          });
    });
  }
}

/**
 * A team's vendors file may add vendors; replacing a built-in one (its latency tail decides the
 * leak estimate) needs `override: true` on that entry, so it never happens by accident.
 */
function addVendors(
  catalog: Catalog,
  data: VendorsFile,
  file: string,
  builtin: Set<string> | undefined,
  problems: Problem[],
): void {
  for (const [id, facts] of Object.entries(data.vendors)) {
    if (!builtin && catalog.vendors.has(id) && facts.override !== true) {
      problems.push({
        file,
        field: `vendors.${id}`,
        message: `vendor "${id}" is built in; add "override: true" to replace it`,
      });
      continue;
    }
    const { override: _, ...rest } = facts;
    catalog.vendors.set(id, { ...rest, key_prefixes: rest.key_prefixes ?? [], id });
    builtin?.add(id);
  }
}

/** A playbook whose id is taken is an error, unless it replaces a built-in one and says `override: true`. */
function addPlaybook(
  catalog: Catalog,
  data: PlaybookFile,
  file: string,
  builtinIds: Set<string> | undefined,
  problems: Problem[],
): void {
  const clash = catalog.playbooks.get(data.id);
  const ofBuiltin = builtinIds?.has(data.id) === true;
  if (clash && !(ofBuiltin && data.override === true)) {
    const hint = ofBuiltin ? '; add "override: true" to replace the built-in one' : '';
    problems.push({
      file,
      field: 'id',
      line: 1,
      message: `id "${data.id}" is already defined by ${clash.file}${hint}`,
    });
    return;
  }
  const { override: _, ...rest } = data;
  catalog.playbooks.set(data.id, { needs: [], warnings: [], seeds: [], ...rest, file });
}

export const catalogCacheFile = () => join(packageRoot(), 'dist', 'catalog.json');

/** Load the built-in playbooks plus the teams' own directories. An id clash is an error. */
export async function loadCatalog(extraDirs: string[] = [], builtinDir_ = builtinDir()): Promise<Catalog> {
  if (extraDirs.length === 0 && builtinDir_ === builtinDir()) {
    const cached = readCachedCatalog(catalogCacheFile(), builtinDir_);
    if (cached) return cached;
  }
  return loadAndValidate([builtinDir_, ...extraDirs]);
}

async function loadAndValidate(dirs: string[]): Promise<Catalog> {
  const v = await validators();
  const catalog: Catalog = { playbooks: new Map(), vendors: new Map() };
  const problems: Problem[] = [];
  // The first directory is the built-in one; what it defines, a team file replaces only with override: true.
  const builtin = { vendors: new Set<string>(), playbooks: new Set<string>() };
  for (const [i, dir] of dirs.entries())
    for (const file of listFiles(dir)) {
      if (isVendorFile(file)) {
        const { data, problems: found } = await parseFile(file, v.vendors, v);
        problems.push(...found);
        if (data) addVendors(catalog, data, file, i === 0 ? builtin.vendors : undefined, problems);
        continue;
      }
      const { data, problems: found } = await parseFile(file, v.playbook, v);
      problems.push(...found);
      if (!data) continue;
      addPlaybook(catalog, data, file, i === 0 ? undefined : builtin.playbooks, problems);
      if (i === 0) builtin.playbooks.add(data.id);
    }
  crossCheck(catalog, problems);
  if (problems.length) throw new PlaybookError(problems);
  const sorted = [...catalog.playbooks.values()].sort(
    (a, b) => (a.order ?? Infinity) - (b.order ?? Infinity) || a.id.localeCompare(b.id),
  );
  catalog.playbooks = new Map(sorted.map((pb) => [pb.id, pb]));
  return catalog;
}
