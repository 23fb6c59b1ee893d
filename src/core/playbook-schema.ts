/** JSON Schemas for playbook and vendor files. Kept as data so the error paths map to YAML lines. */
export const FACTS = ['vendor', 'vault_key', 'upstream_key', 'agent'] as const;
export type Fact = (typeof FACTS)[number];

export const STEP_KINDS = [
  'revoke-vault-key',
  'revoke-all-under',
  'rotate-via-proxy',
  'rotate-at-vendor',
  'reissue-vault-keys',
  'issue-vault-key',
  'damage-summary',
  'agent-archive',
  'agent-disable',
  'agent-create-replacement',
  'agent-delete',
  'agent-deactivate',
  'oauth-verify-inactive',
  'rotate-dpop-key',
  'manual',
] as const;
export type StepKind = (typeof STEP_KINDS)[number];

const text = { type: 'string', minLength: 1 };
const id = { type: 'string', pattern: '^[a-z][a-z0-9-]*$' };

export const playbookSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['id', 'title', 'summary', 'action', 'steps'],
  properties: {
    id,
    order: { type: 'integer', minimum: 0 },
    title: text,
    summary: text,
    action: { type: 'string', pattern: '^[a-z][a-z0-9-]*$' },
    needs: { type: 'array', uniqueItems: true, items: { enum: [...FACTS] } },
    without_proxy: id,
    steps: {
      type: 'array',
      minItems: 1,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['kind', 'target', 'reason'],
        properties: { kind: { enum: [...STEP_KINDS] }, target: text, reason: text, continue_as: id },
      },
    },
    warnings: { type: 'array', items: text },
    /** A team playbook with a built-in's id replaces it only when it says so. */
    override: { type: 'boolean' },
    then: text,
    recommend: text,
    seeds: { type: 'array', items: { type: 'string' } },
  },
} as const;

const seconds = { type: 'number', minimum: 0 };
const capability = { enum: ['api', 'manual', 'none'] };

export const vendorsSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['vendors'],
  properties: {
    vendors: {
      type: 'object',
      propertyNames: { pattern: '^[a-z][a-z0-9-]*$' },
      additionalProperties: {
        type: 'object',
        additionalProperties: false,
        required: ['title', 'rotation_latency_s', 'keys', 'auth'],
        properties: {
          title: text,
          rotation_latency_s: {
            // null: nobody has measured this vendor's tail (the estimate then says so).
            type: ['object', 'null'],
            additionalProperties: false,
            required: ['median', 'p95'],
            properties: { median: seconds, p95: seconds },
          },
          keys: {
            type: 'object',
            additionalProperties: false,
            required: ['create', 'delete'],
            properties: { create: capability, delete: capability, roll: capability },
          },
          auth: {
            type: 'object',
            required: ['scheme'],
            properties: {
              scheme: { enum: ['bearer', 'basic', 'header'] },
              header: text,
              username: text,
              template: text,
            },
          },
          key_prefixes: { type: 'array', items: text },
          rotation_guide: text,
          /** A team file's entry for a built-in vendor replaces it only when it says so. */
          override: { type: 'boolean' },
        },
      },
    },
  },
} as const;
