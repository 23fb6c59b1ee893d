import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { parse } from 'yaml';
import OpenAPIBackendModule, { ValidationContext } from 'openapi-backend';
import { ROOT } from '../../helpers/cli.js';
import type { ContractDocument } from '../../../src/vendors/shared/contract.js';
import type { Exchange } from './recorder.js';

type Backend = InstanceType<typeof import('openapi-backend').OpenAPIBackend>;
const OpenAPIBackend = ((OpenAPIBackendModule as unknown as { default?: unknown }).default ??
  OpenAPIBackendModule) as typeof import('openapi-backend').OpenAPIBackend;

/**
 * The vendors' published documents live beside the repository (`../shared/vendor-specs/` from
 * the repository root; from a worktree, the first such folder above it). They are read, never
 * copied in. None found: the suite fails in CI, and skips with the reason elsewhere.
 */
export function findSpecsDir(): string | undefined {
  if (process.env.TOURNIQUET_VENDOR_SPECS)
    return existsSync(process.env.TOURNIQUET_VENDOR_SPECS) ? process.env.TOURNIQUET_VENDOR_SPECS : undefined;
  for (let dir = resolve(ROOT), i = 0; i < 4; i++, dir = dirname(dir)) {
    const candidate = join(dir, '..', 'shared', 'vendor-specs');
    if (existsSync(join(candidate, 'SOURCES.md'))) return resolve(candidate);
  }
  return undefined;
}

/**
 * Two 3.0 habits the 3.1 documents still carry: `nullable: true` on a schema with no `type`
 * (which JSON Schema validators reject), and on an `enum` without null. Both are rewritten as
 * "or null"; nothing else is changed.
 */
function normalise(node: unknown): void {
  if (!node || typeof node !== 'object') return;
  const o = node as Record<string, unknown>;
  if (o.nullable === true && o.type === undefined) {
    delete o.nullable;
    if (Array.isArray(o.oneOf)) o.oneOf.push({ type: 'null' });
    else if (Array.isArray(o.anyOf)) o.anyOf.push({ type: 'null' });
    else if (typeof o.$ref === 'string') {
      o.anyOf = [{ $ref: o.$ref }, { type: 'null' }];
      delete o.$ref;
    }
  }
  // `nullable` with an `enum` that does not list null meant "or null" (OpenAPI 3.0.3's clarification).
  if (o.nullable === true && Array.isArray(o.enum) && !o.enum.includes(null)) o.enum.push(null);
  for (const v of Object.values(o)) normalise(v);
}

export interface LoadedDocument {
  doc: ContractDocument;
  api: Backend;
  definition: Record<string, any>;
}

const cache = new Map<string, Promise<LoadedDocument>>();

export function loadDocument(dir: string, doc: ContractDocument): Promise<LoadedDocument> {
  let p = cache.get(doc.file);
  if (!p) {
    p = (async () => {
      const text = readFileSync(join(dir, doc.file), 'utf8');
      const definition = (doc.file.endsWith('.json') ? JSON.parse(text) : parse(text)) as Record<string, any>;
      normalise(definition);
      const api = new OpenAPIBackend({
        definition: definition as never,
        quick: true,
        strict: false,
        validate: true,
        ajvOpts: { strict: false, validateFormats: false, logger: false },
      });
      await api.init();
      return { doc, api, definition };
    })();
    cache.set(doc.file, p);
  }
  return p;
}

export interface Finding {
  exchange: string;
  problem: string;
}

const jsonOf = (b: Buffer): unknown => {
  try {
    return JSON.parse(b.toString('utf8'));
  } catch {
    return undefined;
  }
};

/** The request body as the document describes it: JSON, or a form as an object (arrays for repeated fields). */
function requestBody(e: Exchange): unknown {
  const type = String(e.headers['content-type'] ?? '');
  if (type.includes('application/x-www-form-urlencoded'))
    return Object.fromEntries(new URLSearchParams(e.body.toString('utf8')));
  return e.body.length ? jsonOf(e.body) : undefined;
}

/** Every recorded exchange checked: the request against its operation, the answer against its documented status. */
export function check(
  loaded: LoadedDocument,
  exchanges: Exchange[],
  answers: 'check' | 'requests-only' = 'check',
): Finding[] {
  const findings: Finding[] = [];
  for (const e of exchanges) {
    const label = `${e.method} ${e.path} → ${e.status}`;
    const path =
      loaded.doc.stripPrefix && e.path.startsWith(loaded.doc.stripPrefix)
        ? e.path.slice(loaded.doc.stripPrefix.length)
        : e.path;
    const req = {
      method: e.method.toLowerCase(),
      path,
      query: Object.fromEntries(e.query),
      headers: e.headers as Record<string, string>,
      body: requestBody(e),
    };
    const op = loaded.api.matchOperation(req);
    if (!op) {
      findings.push({ exchange: label, problem: `no such operation in ${loaded.doc.file}` });
      continue;
    }
    const v = loaded.api.validator.validateRequest(req, op);
    if (!v.valid) findings.push({ exchange: label, problem: `request: ${JSON.stringify(v.errors)}` });
    if (answers === 'requests-only' || String(e.responseHeaders['content-type'] ?? '').includes('text/event-stream'))
      continue;
    const documented = (op.responses ?? {}) as Record<string, unknown>;
    if (!documented[String(e.status)] && !documented.default) {
      // Statuses the document does not list (most 4xx) are the vendor's error envelope: nothing to check against.
      if (e.status < 400)
        findings.push({ exchange: label, problem: `status ${e.status} is not documented for ${op.operationId}` });
      continue;
    }
    if (e.response.length === 0) continue;
    const r = loaded.api.validator.validateResponse(jsonOf(e.response), op, e.status);
    if (!r.valid) findings.push({ exchange: label, problem: `answer: ${JSON.stringify(r.errors)}` });
  }
  return findings;
}

/**
 * The schema an event is checked against: the union's branch whose `type` names the event (so a
 * finding says what is wrong with it, not with every other kind of event), or the schema itself.
 */
function branchFor(definition: Record<string, any>, schema: string, type: unknown): string {
  const union = definition.components.schemas[schema] as {
    anyOf?: Array<{ $ref?: string }>;
    oneOf?: Array<{ $ref?: string }>;
  };
  for (const branch of union.anyOf ?? union.oneOf ?? []) {
    const name = branch.$ref?.split('/').pop();
    const enumOf = name
      ? (definition.components.schemas[name]?.properties?.type?.enum as unknown[] | undefined)
      : undefined;
    if (name && enumOf?.includes(type)) return name;
  }
  return schema;
}

/** A streamed answer's events checked against a component schema (e.g. a chat completion chunk). */
export function checkEvents(loaded: LoadedDocument, e: Exchange, schema: string): Finding[] {
  const ajv = loaded.api.validator.getAjv(ValidationContext.Response, { strict: false, validateFormats: false });
  const findings: Finding[] = [];
  for (const line of e.response.toString('utf8').split('\n')) {
    if (!line.startsWith('data: {')) continue;
    const data = JSON.parse(line.slice(6)) as { type?: unknown };
    const name = branchFor(loaded.definition, schema, data.type);
    const validate = ajv.compile({ $ref: `#/components/schemas/${name}`, components: loaded.definition.components });
    const kind = typeof data.type === 'string' ? data.type : '';
    if (!validate(data))
      findings.push({
        exchange: `${e.method} ${e.path} (event ${kind})`,
        problem: `${name}: ${JSON.stringify(validate.errors)}`,
      });
  }
  return findings;
}
