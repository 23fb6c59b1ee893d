import type { Command } from 'commander';
import type { Ctx } from './context.js';
import { DEADLINES, type DeadlineSpec } from './deadline-specs.js';

/** What a command module exports: parse its inputs, call one core function, render. */
export interface CommandModule {
  /** The exit code; a command with nothing to wait for answers at once (main awaits either). */
  run(input: CommandInput, ctx: Ctx): number | void | Promise<number | void>;
}

export interface CommandInput {
  /** Positional operands, in order. */
  args: string[];
  /** This command's options (global options live on ctx.flags). */
  opts: Record<string, unknown>;
  /** The command's name; for a subcommand, its own name ("set" of "config set"). */
  name: string;
}

export interface CommandSpec {
  name: string;
  summary: string;
  /** Declare arguments and options; runs eagerly so --help lists them, but loads nothing. */
  configure?: (cmd: Command) => void;
  /** The module is imported only when this command runs (fast --help and cold start). */
  load?: () => Promise<CommandModule>;
  subcommands?: CommandSpec[];
  /** Extra help text shown after the options. */
  help?: string;
  /** Networked commands: the default overall deadline, from the command's options (cli/deadline.ts). */
  deadline?: DeadlineSpec;
}

/** Every command, in the order `--help` lists them. Add new commands here. */
export const COMMANDS: CommandSpec[] = [
  {
    name: 'scenarios',
    summary: 'list the incident scenarios tourniquet knows, with their first move',
    load: () => import('./scenarios.js'),
  },
  {
    name: 'decide',
    summary: 'the plan for a scenario: first move, ordered steps, why, and what each path leaks (no side effects)',
    configure: (cmd) =>
      cmd
        .option('-s, --scenario <id>', 'scenario id (see `tourniquet scenarios`)')
        .option('--vendor <vendor>', 'the vendor involved: stripe, openai, twilio, resend, or one from a vendor file')
        .option('--vault-key <id>', 'the vault key involved (its id, never its secret)')
        .option('--upstream-key <id>', 'the production key involved (its id at the proxy)')
        .option('--agent <id>', 'the agent involved')
        .option('--no-proxy', 'there is no proxy in front of this vendor')
        .option(
          '--rate <rate>',
          "the agent's call rate for the leak estimate, e.g. 1/400ms, 150/min, 2.5/s (none: seed 002's 1/400ms, marked assumed)",
        ),
    load: () => import('./decide.js'),
  },
  {
    name: 'estimate',
    summary: 'calls leaked while stopping an agent: rotating at the vendor versus revoking at the proxy',
    configure: (cmd) =>
      cmd
        .option('--vendor <vendor>', 'the vendor (stripe, openai, twilio, resend, ...)')
        .option(
          '--rate <rate>',
          "the agent's call rate, e.g. 1/400ms, 150/min, 2.5/s (none: seed 002's 1/400ms, marked assumed)",
        )
        .option('--in-flight <n>', 'requests in flight at the proxy when the revoke lands', '1'),
    load: () => import('./estimate.js'),
  },
  {
    name: 'config',
    summary: 'profiles and settings: list (with where each value came from), get, set, unset, use',
    subcommands: [
      {
        name: 'list',
        summary: 'every setting of the profile and where its value came from',
        load: () => import('./config.js'),
      },
      {
        name: 'get',
        summary: "one setting's value",
        configure: (cmd) => cmd.argument('<key>'),
        load: () => import('./config.js'),
      },
      {
        name: 'set',
        summary: 'set a setting in the profile (secrets are refused: store a reference such as a file path)',
        configure: (cmd) => cmd.argument('<key>').argument('<value>'),
        load: () => import('./config.js'),
      },
      {
        name: 'unset',
        summary: 'remove a setting from the profile',
        configure: (cmd) => cmd.argument('<key>'),
        load: () => import('./config.js'),
      },
      {
        name: 'use',
        summary: 'make a profile the current one',
        configure: (cmd) => cmd.argument('<profile>'),
        load: () => import('./config.js'),
      },
    ],
  },
  {
    name: 'damage',
    summary:
      'the damage summary from an audit source: calls, cost, customers (refunds), endpoints, anomaly start, after-revoke',
    configure: (cmd) =>
      cmd
        .option(
          '--source <source>',
          'proxy, a postgres:// URL, a path (.jsonl .csv .db; - for stdin), litellm+https://HOST, or a profile (default: audit_source)',
        )
        .option('--input-format <fmt>', 'force the file format: jsonl, csv, sqlite, litellm')
        .option('--table <name>', 'the audit table for SQL sources (default agent_call_audit; config audit_table)')
        .option('--columns <map>', 'column names, e.g. started_at=ts,cost_usd_parsed=cost (config audit_columns)')
        .option('--vault-key <id>', 'only this vault key')
        .option('--agent-run <id>', 'only this agent run')
        .option('--customer <id>', 'only this customer_scope_id')
        .option('--since <duration>', 'the last 30m, 2h, 1d (up to --to or now)')
        .option('--from <time>', 'window start (ISO-8601; no zone means UTC)')
        .option('--to <time>', 'window end, exclusive')
        .option('--revoked-at <time>', 'when the revoke took effect: splits later calls into in flight and after')
        .option('--incident <id>', "take the revoke time (and vault key) from this incident's journal")
        .option('--refunds <file>', 'also write the refund candidates (customers, calls, cost) as CSV')
        .option('--format <format>', 'text, md or json', 'text')
        .option('--top <n>', 'rows per breakdown in text output', '10'),
    help: `
Sources: proxy (its summary endpoint; rows are never shipped), postgres://…
(the GROUP BYs run on the server), an SQLite file (the proxy's store or your
own), JSONL or CSV (streamed; - is stdin), litellm:FILE or litellm+https://HOST
(LiteLLM spend logs), or a profile with audit_source.
Cost, customers, endpoints and runs count allowed calls. The anomaly start is
the first minute above 5x the mean of the minutes before it. Unreadable rows
are counted and reported, never summed; a file with no readable row, or SQLite
start times stored as text with a UTC offset, is bad input (exit 2).

Examples:
  tourniquet damage --source proxy --vault-key vk_refund_agent --since 30m
  tourniquet damage --incident inc_20261121T021900Z_a1b2 --refunds refunds.csv
  tourniquet damage --source audit.jsonl --from 2026-11-21T02:00Z --format md
`,
    load: () => import('./damage.js'),
    deadline: DEADLINES.reading,
  },
  {
    name: 'postmortem',
    summary: 'a Markdown postmortem for an incident: timeline, decision, damage, two recommendations',
    configure: (cmd) =>
      cmd
        .argument('<incident>', 'the incident id (see its journal)')
        .option('--source <source>', 'audit source for the damage section (as for damage)')
        .option('--input-format <fmt>', 'force the file format: jsonl, csv, sqlite, litellm')
        .option('--table <name>', 'the audit table for SQL sources')
        .option('--columns <map>', 'column names, e.g. started_at=ts')
        .option('--since <duration>', 'damage window before the revoke (default 60m)')
        .option('--notify', 'post the summary to the webhook_url of the profile (Slack-compatible)')
        .option('-o, --output <file>', 'write the Markdown to a file instead of stdout'),
    load: () => import('./postmortem.js'),
    deadline: DEADLINES.reading,
  },
  {
    name: 'agent',
    summary:
      'agent-platform actions: disable, archive, delete, create (seed 000 accounts API); deactivate, rotate-dpop-key (OAuth Agents API)',
    help: `
Examples:
  tourniquet agent disable agt_123 --reason "loop: 400 calls in 6 min" --yes
  tourniquet agent archive agt_123 --yes                  retired: stops it, keeps the history
  tourniquet agent create research-agent-v2 --budget 10 --out new-key.txt
  tourniquet agent deactivate agent_42 --yes              OAuth agent: all its tokens revoked
  tourniquet agent rotate-dpop-key agent_42 --jwk-file new-public.jwk --yes

Where the platforms are (flag > environment > profile):
  accounts API     --base-url, TOURNIQUET_AGENT_ACCOUNTS_URL, agents.accounts.base_url
  Agents API       --base-url, TOURNIQUET_AGENTS_API_URL, agents.agents_api.base_url
  admin key        --admin-key REF, agents.<platform>.admin_key REF; by default the
                   TOURNIQUET_AGENT_ACCOUNTS_KEY / TOURNIQUET_AGENTS_API_KEY variables
After acting, the agent is read back: exit 5 when the platform does not show the change.
`,
    subcommands: [
      {
        name: 'list',
        summary: 'the agents on a platform, with their status (follows the pagination)',
        configure: (cmd: Command) =>
          cmd
            .option('--platform <platform>', 'accounts (seed 000) or agents-api (OAuth Agents API)', 'accounts')
            .option('--base-url <url>', 'the platform base URL')
            .option('--admin-key <ref>', 'where the admin API key is: env:NAME, file:PATH or - (never the key itself)'),
        load: () => import('./agent.js'),
        deadline: DEADLINES.plain,
      },
      ...(
        [
          [
            'disable',
            'disable an agent account (status: disabled): its next call is refused; verified by re-reading it',
          ],
          ['archive', 'archive a retired agent (keeps its history); verified by re-reading it'],
          ['delete', 'delete an agent account (irreversible; prefer archive); verified by a 404'],
          ['create', 'create a replacement agent with its own key and a budget; the key goes to --out FILE (0600)'],
          [
            'deactivate',
            'set active=false on an OAuth agent: every token revoked, no new ones; verified by re-reading it',
          ],
          [
            'rotate-dpop-key',
            "rotate an agent's DPoP key to a new public JWK; tokens bound to the old key are revoked",
          ],
        ] as const
      ).map(([name, summary]) => ({
        name,
        summary,
        configure: (cmd: Command) => {
          cmd.argument(
            name === 'create' ? '<name>' : '[agent-id]',
            name === 'create'
              ? "the new agent's name"
              : 'the agent (asked for, from a list, when omitted at a terminal)',
          );
          cmd.option(
            '--base-url <url>',
            `the ${name === 'deactivate' || name === 'rotate-dpop-key' ? 'Agents API (TOURNIQUET_AGENTS_API_URL)' : 'agent accounts API (TOURNIQUET_AGENT_ACCOUNTS_URL)'} base URL`,
          );
          cmd.option(
            '--admin-key <ref>',
            'where the admin API key is: env:NAME, file:PATH or - (never the key itself)',
          );
          cmd.option('--reason <text>', 'why, for the audit log and the report');
          if (name === 'rotate-dpop-key')
            cmd.option('--jwk-file <file>', 'the new PUBLIC key as a JWK (EC P-256, RSA, OKP); - for stdin');
          if (name === 'deactivate')
            cmd.option(
              '--verify-token-file <file>',
              'also prove a token the agent held now introspects as active:false (RFC 7662; oauth.* settings, the Agents API as issuer by default)',
            );
          if (name === 'create')
            cmd
              .option('--budget <usd>', "the new agent's budget in USD")
              .option('--out <file>', 'write the new agent key here (mode 0600; never printed)');
        },
        load: () => import('./agent.js'),
        deadline: DEADLINES.plain,
      })),
    ],
  },
  {
    name: 'oauth',
    summary: 'stop an OAuth token: RFC 7009 revoke (verified by introspection), RFC 7662 introspect',
    help: `
Examples:
  tourniquet oauth revoke --issuer https://auth.example.com --client-id incident-bot --token-file token.txt --yes
  pbpaste | tourniquet oauth introspect --expect-inactive   exit 5 while the token still works

The token is read from --token-file, piped stdin or a masked prompt; never from argv, never printed.
Our client authenticates with client_secret_basic; the secret is a reference (env:NAME, file:PATH).
Profile keys: oauth.issuer, oauth.client_id, oauth.client_secret, oauth.revocation_endpoint, oauth.introspection_endpoint.
`,
    subcommands: (
      [
        ['revoke', 'revoke a token (RFC 7009), then verify introspection answers active:false'],
        ['introspect', 'ask the authorization server whether a token is active (RFC 7662)'],
      ] as const
    ).map(([name, summary]) => ({
      name,
      summary,
      configure: (cmd: Command) => {
        cmd
          .option(
            '--issuer <url>',
            'the authorization server; endpoints come from its metadata (TOURNIQUET_OAUTH_ISSUER)',
          )
          .option('--revocation-endpoint <url>', 'the RFC 7009 endpoint (instead of discovery)')
          .option('--introspection-endpoint <url>', 'the RFC 7662 endpoint (instead of discovery)')
          .option('--client-id <id>', 'our client id (TOURNIQUET_OAUTH_CLIENT_ID)')
          .option(
            '--client-secret <ref>',
            'where our client secret is: env:NAME, file:PATH (default env:TOURNIQUET_OAUTH_CLIENT_SECRET)',
          )
          .option(
            '--token-file <file>',
            'the token to act on; - for stdin (default: stdin when piped, else a masked prompt)',
          )
          .option('--token-type-hint <hint>', 'access_token or refresh_token');
        if (name === 'introspect') cmd.option('--expect-inactive', 'exit 5 unless the token is inactive');
      },
      load: () => import('./oauth.js'),
      deadline: DEADLINES.plain,
    })),
  },
  // --- the 02:14 experience (issue 7): incident, demo ---
  {
    name: 'incident',
    summary:
      'the guided incident (what `tourniquet` runs at a terminal): two questions, one confirmation, revoked and verified',
    configure: (cmd) =>
      cmd
        .option('-s, --scenario <id>', 'what is happening (see `tourniquet scenarios`)')
        .option('--vault-key <id>', "the agent's vault key (its id, never its secret)")
        .option('--hard', 'also cut requests already in flight')
        .option('--since <duration>', 'damage window before now', '30m')
        .option('--threshold <multiple>', "calls/min above this multiple of a key's baseline is anomalous", '5')
        .option('--verify-timeout <ms>', 'how long an instance may take to refuse the key before exit 5', '5000'),
    load: () => import('./incident.js'),
    deadline: DEADLINES.verifying,
  },
  {
    name: 'demo',
    summary: 'the whole 02:14 story on a loopback sandbox, no setup: revoke vs rotate, measured side by side',
    configure: (cmd) =>
      cmd
        .option('--auto', 'narrated and automatic, even at a terminal')
        .option('--time-scale <factor>', "scale the vendor's propagation tail and the agent's 400ms interval", '0.05')
        .option('--tail-mode <mode>', 'the vendor tail: sampled (seed 002 distribution), median or p95', 'sampled')
        .option('--runaway-ms <ms>', 'how long the agent runs away before the page (default: one minute at real scale)')
        .option(
          '--store <kind>',
          "the demo proxy's store: sqlite (in a temp dir) or memory; default sqlite when its native module is built",
          'auto',
        ),
    load: () => import('./demo.js'),
  },
  {
    name: 'watch',
    summary:
      'calls/min per vault key against its own baseline; flags keys above 5x (--once for cron: exit 7 on an anomaly)',
    configure: (cmd) =>
      cmd
        .option('--once', 'one sample, then exit: 7 when a key is above the threshold')
        .option('--threshold <multiple>', "anomalous above this multiple of a key's baseline", '5')
        .option('--interval <duration>', 'time between samples', '10s')
        .option('--count <n>', 'stop after this many samples')
        .option('--notify', "post an alert to the profile's webhook_url when a key crosses the threshold"),
    load: () => import('./watch.js'),
    deadline: DEADLINES.watch,
  },
  {
    name: 'drill',
    summary:
      'a measured game day: throwaway key, synthetic calls through every instance, revoke, time to refusal and calls leaked',
    configure: (cmd) =>
      cmd
        .option('--sandbox', "drill against a loopback sandbox proxy instead of the profile's (staging) proxy")
        .option('--vendor <vendor>', 'the vendor of the throwaway key', 'stripe')
        .option('--rate <rate>', 'synthetic calls per instance, e.g. 50/s, 1/400ms', '50/s')
        .option('--warmup <duration>', 'calls before the revoke', '1s')
        .option('--observe <duration>', 'calls after the revoke', '1s')
        .option('--max-refusal-ms <ms>', 'exit 7 if an instance takes longer than this to refuse the key', '1000')
        .option('--max-leaked <n>', 'exit 7 if more calls than this get past the key after the revoke', '0'),
    load: () => import('./drill.js'),
    deadline: DEADLINES.drill,
  },
  {
    name: 'doctor',
    summary:
      'readiness check: config, credentials, instances, a key per agent, forensic audit columns, revoke on the next request, a rate monitor',
    configure: (cmd) =>
      cmd
        .option('--no-drill', 'skip the small revoke drill (it issues and revokes a throwaway key)')
        .option('--vendor <vendor>', "the vendor of the drill's throwaway key", 'stripe'),
    load: () => import('./doctor.js'),
    deadline: DEADLINES.reading,
  },
  {
    name: 'completion',
    summary: 'shell completion script: bash, zsh or fish (see the README to install it)',
    configure: (cmd) => cmd.argument('<shell>', 'bash, zsh or fish'),
    load: () => import('./completion.js'),
  },
  // --- incident actions (revoke, rotate, issue, roll, run, resume, timeline, incidents) ---
  {
    name: 'revoke',
    summary: 'revoke vault key(s) at the proxy, then prove every proxy instance refuses them',
    configure: (cmd) =>
      cmd
        .argument('[vault-key-id...]', 'vault key ids (never secrets)')
        .option('--hard', 'also cut requests already in flight')
        .option(
          '--all-under <upstream-key-id>',
          'every active vault key under this production key (not on LiteLLM: it does not know; exit 2)',
        )
        .option('--vendor <vendor>', 'every active vault key for this vendor (LiteLLM: metadata.vendor)')
        .option('--reason <text>', "why, recorded in the incident's journal")
        .option('--verify-timeout <ms>', 'how long an instance may take to refuse the key before exit 5', '5000'),
    load: () => import('./revoke.js'),
    deadline: DEADLINES.verifying,
  },
  {
    name: 'rotate',
    summary: 'zero-downtime production-key rotation through the proxy (new key verified before the old is retired)',
    configure: (cmd) =>
      cmd
        .argument('<vendor>', 'stripe, openai, anthropic, gemini, twilio or resend')
        .option('--new-key-file <file>', 'the new key, for a vendor without a create API (Stripe); - for stdin')
        .option(
          '--old-key-file <file>',
          'the old key, to watch the vendor refuse it (the propagation tail); - for stdin',
        )
        .option('--old-key-id <id>', "the old key's id at the vendor (what its delete API takes)")
        .option(
          '--auth-token',
          "Twilio: rotate the account's auth token (secondary, then promote) instead of an API key; with an API key as the admin credential (admin_key_sid), also --old-key-file with the old token",
        )
        .option('--tail-timeout <seconds>', 'how long to watch for the vendor to refuse the old key', '300')
        .option('--tail-interval <ms>', 'how often to probe the old key', '2000')
        .option(
          '--if-older-than <age>',
          'scheduled: rotate only if the active key is older than this (90d); else exit 0, "nothing due"',
        )
        .option('--if-due', "scheduled: rotate only if the active key is past the profile's rotation.max_age")
        .option(
          '--evidence <dir>',
          'scheduled: write the evidence record (JSON and Markdown) here (default: STATE_DIR/evidence)',
        )
        .option(
          '--probe-interval <ms>',
          'scheduled: one proxied call this often during the rotation, to prove no call failed',
          '500',
        ),
    help: `
Scheduled (compliance) rotation: with --if-older-than or --if-due, nothing happens unless the
vendor's active production key is due (exit 0, "nothing due", no vendor call). When it is, the
rotation runs with a probe calling through the proxy the whole time, and leaves an evidence
record: what was rotated, how each step was verified, and the probe's failed calls (must be 0,
else exit 5). An interrupted scheduled rotation is resumed by the next run. A step only a person
can do (deleting a Stripe key in its dashboard) is left undone and named: exit 6, on every run,
until someone does it and runs tourniquet resume INCIDENT at a terminal. Under GitHub Actions
it also writes the step summary and the outputs status, rotated, incident, evidence.
See docs/scheduled-rotation.md.
`,
    load: () => import('./rotate.js'),
    deadline: DEADLINES.rotating,
  },
  {
    name: 'keys',
    summary:
      'production-key inventory: age, last use, vault keys served, due date, last rotation (exit 7 when one is overdue)',
    configure: (cmd) =>
      cmd
        .option('--vendor <vendor>', "only this vendor's keys")
        .option('--all', 'retired keys too')
        .option(
          '--max-age <age>',
          "judge every key against this age (90d, 12w) instead of the profile's rotation.max_age",
        )
        .option('--format <format>', 'text, md or json', 'text'),
    help: `
Age counts from when the proxy first held the key. Due: created + the maximum age, from
--max-age, else the profile: rotation.max_age (every vendor), rotation.max_age.VENDOR, or
rotation.max_age.KEY_ID (also TOURNIQUET_ROTATION_MAX_AGE). Last use is asked of every proxy
instance. The last rotation's incident comes from the journals in the state directory.

Examples:
  tourniquet keys
  tourniquet keys --format md >> "$GITHUB_STEP_SUMMARY"
  tourniquet config set rotation.max_age 90d && tourniquet keys --json
`,
    load: () => import('./keys.js'),
  },
  {
    name: 'issue',
    summary: 'issue an ephemeral per-run vault key (the secret goes to stdout once, or to --out FILE)',
    configure: (cmd) =>
      cmd
        .option('--vendor <vendor>', 'the vendor the key is for')
        .option('--cap <usd>', 'daily spend cap in USD')
        .option('--per-call-cap <usd>', 'largest amount one call may move')
        .option('--rate <n>', 'calls per minute')
        .option('--endpoint <pattern...>', 'allowed endpoints, "METHOD /path" (repeatable)')
        .option('--expires-in <duration>', 'lifetime, e.g. 45m, 2h, 7d')
        .option('--run <id>', 'the agent run this key belongs to')
        .option('--agent <name>', 'the agent, as a label')
        .option('--upstream-key <id>', 'pin to one production key')
        .option('--out <file>', 'write the secret here (mode 0600) instead of stdout'),
    load: () => import('./issue.js'),
    deadline: DEADLINES.plain,
  },
  {
    name: 'roll',
    summary: 're-issue a vault key with the same policy and a new secret; the old one is revoked',
    configure: (cmd) =>
      cmd
        .argument('<vault-key-id>')
        .option('--keep-old', 'leave the old key to expire instead of revoking it')
        .option('--out <file>', 'write the new secret here (mode 0600) instead of stdout')
        .option('--verify-timeout <ms>', 'how long an instance may take to refuse the old key', '5000'),
    load: () => import('./roll.js'),
    deadline: DEADLINES.verifying,
  },
  {
    name: 'run',
    summary: 'execute the plan from `decide` step by step: journaled, verified, resumable',
    configure: (cmd) =>
      cmd
        .option('-s, --scenario <id>', 'scenario id (see `tourniquet scenarios`)')
        .option('--vendor <vendor>', 'the vendor involved')
        .option('--vault-key <id>', 'the vault key involved (its id)')
        .option('--upstream-key <id>', 'the production key involved (its id at the proxy)')
        .option('--agent <id>', 'the agent involved')
        .option('--no-proxy', 'there is no proxy in front of this vendor')
        .option('--rate <rate>', "the agent's call rate for the leak estimate", '1/400ms')
        .option('--new-key-file <file>', 'the new production key when a step rotates it (Stripe); - for stdin')
        .option('--old-key-file <file>', 'the old production key, to watch its propagation tail')
        .option('--old-key-id <id>', "the old key's id at the vendor")
        .option(
          '--new-key-out <file>',
          'rotating at the vendor (no proxy): write the new key here, mode 0600, to deploy it',
        )
        .option('--cap <usd>', 'wrapping a raw key: daily spend cap of the vault key to issue')
        .option('--per-call-cap <usd>', 'wrapping a raw key: largest amount one call may move')
        .option('--calls-per-minute <n>', 'wrapping a raw key: rate limit of the vault key to issue')
        .option('--endpoint <pattern...>', 'wrapping a raw key: allowed endpoints, "METHOD /path"')
        .option('--expires-in <duration>', 'wrapping a raw key: lifetime of the vault key, e.g. 45m, 7d')
        .option('--tail-timeout <seconds>', 'how long to watch for the vendor to refuse the old key', '300')
        .option('--verify-timeout <ms>', 'how long an instance may take to refuse a revoked key', '5000'),
    load: () => import('./run.js'),
    deadline: DEADLINES.rotating,
  },
  {
    name: 'resume',
    summary: 'continue an incident that stopped part-way, from its journal',
    configure: (cmd) => cmd.argument('<incident-id>'),
    load: () => import('./resume.js'),
    deadline: DEADLINES.rotating,
  },
  {
    name: 'timeline',
    summary: "an incident's journal: every step at its offset from t=0, with the calls it made",
    configure: (cmd) => cmd.argument('<incident-id>'),
    load: () => import('./timeline.js'),
  },
  {
    name: 'incidents',
    summary: 'incidents in the state directory, newest first, and how each ended',
    load: () => import('./incidents.js'),
  },
  {
    name: 'proxy',
    summary: 'the vault-key proxy between agents and vendors',
    subcommands: [
      {
        name: 'serve',
        summary: 'run the proxy: data plane for agents, admin API for tourniquet (SQLite store by default)',
        configure: (cmd) =>
          cmd
            .option('--listen <host:port>', 'data plane address (agents point their SDKs here)', '127.0.0.1:8787')
            .option('--admin-listen <host:port>', 'admin API address', '127.0.0.1:8788')
            .option(
              '--store <spec>',
              'where state and the audit live: sqlite:PATH, or postgres://USER@HOST/DB for a fleet of instances',
              'sqlite:./tourniquet.db',
            )
            .option(
              '--admin-tokens <file>',
              'named, scoped admin tokens (hashes; mode 0600; reloaded on SIGHUP; or TOURNIQUET_ADMIN_TOKENS)',
            )
            .option(
              '--admin-token-file <file>',
              'one full-power admin token, named "admin" (or TOURNIQUET_ADMIN_TOKEN_FILE)',
            )
            .option(
              '--master-key-file <file>',
              'seals stored production keys: 32 random bytes, base64, mode 0600 (or TOURNIQUET_MASTER_KEY_FILE / TOURNIQUET_MASTER_KEY)',
            )
            .option(
              '--master-key-command <cmd>',
              'a command that prints the master key (a KMS or vault CLI), instead of a file',
            )
            .option(
              '--admin-behind-tls',
              'TLS is terminated in front of a non-loopback admin listener (no exposure warning)',
            )
            .option('--no-metrics', 'no Prometheus metrics at GET /metrics on the admin listener')
            .option(
              '--upstream <vendor=url>',
              'point a vendor at another base URL (repeatable)',
              (v: string, prev: string[] = []) => [...prev, v],
            )
            .option('--config <file>', 'YAML/JSON: production keys by env var or file, vendor overrides')
            .option('--max-body-bytes <n>', 'largest request body an agent may send', String(1 << 20))
            .option(
              '--workers <n>',
              'worker processes (node:cluster) sharing --listen/--admin-listen, each a proxy instance of its own on the shared PostgreSQL store, with its own ports for per-instance checks; up to 2 per CPU',
              '1',
            )
            .option(
              '--revoke-journal <dir>',
              'where revokes not yet in the store are kept (default: STORE.revokes next to a SQLite file; $TOURNIQUET_STATE_DIR/proxy-revokes for PostgreSQL)',
            ),
        load: () => import('./proxy.js'),
      },
      {
        name: 'rotate-master-key',
        summary:
          "re-wrap every stored production key under the first key of the proxy's master key source (no vendor call, no restart)",
        configure: (cmd) => cmd.option('--proxy-url <url>', "the proxy's admin API (default: the profile's proxy_url)"),
        load: () => import('./proxy-master-key.js'),
      },
      {
        name: 'add-token',
        summary: 'add a named admin token with a scope (read, operate, admin) to a token file; the token is shown once',
        configure: (cmd) =>
          cmd
            .argument('<name>', 'who or what holds it: oncall, grafana, ci-rotation')
            .requiredOption('--scope <scope>', 'read, operate or admin')
            .option(
              '--tokens-file <file>',
              'the token file proxy serve reads (--admin-tokens; or TOURNIQUET_ADMIN_TOKENS)',
            )
            .option('--token-out <file>', 'write the token here (mode 0600) instead of printing it'),
        load: () => import('./proxy-add-token.js'),
      },
    ],
  },
  {
    name: 'sandbox',
    summary:
      'loopback Stripe, OpenAI, Anthropic, Gemini, Twilio and Resend with real-world propagation tails; prints URLs and keys',
    configure: (cmd) =>
      cmd
        .option('--time-scale <x>', 'multiply propagation tails (1 = seed 002 timings, 0.01 for demos)', '1')
        .option('--tail-mode <mode>', 'sampled, median, p95 or none', 'sampled')
        .option('--latency-ms <ms>', 'added to every vendor answer', '0'),
    load: () => import('./sandbox.js'),
  },
];

/** How `--help` groups the commands, in the order an on-call engineer reaches for them. */
export const HELP_GROUPS: Array<[heading: string, names: string[]]> = [
  ['Stop it now:', ['incident', 'revoke', 'rotate', 'run', 'resume']],
  ['Decide:', ['scenarios', 'decide', 'estimate']],
  ['Afterwards:', ['damage', 'postmortem', 'timeline', 'incidents']],
  ['Keys, agents and tokens:', ['keys', 'issue', 'roll', 'agent', 'oauth']],
  ['Calm hours:', ['demo', 'watch', 'drill', 'doctor']],
  ['Proxy and setup:', ['proxy', 'sandbox', 'config', 'completion']],
];
