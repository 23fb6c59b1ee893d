/**
 * What a vendor's answers and our requests are checked against (test/vendors/contract.test.ts).
 * A published OpenAPI document, read from the shared vendor-specs folder beside the repository
 * (never copied into it), or, where none is published, the official SDK's TypeScript types:
 * the sandbox builds its answers and the adapter its parameters as those types, and the type
 * check fails on any difference.
 */
export type Contract =
  { kind: 'openapi'; documents: ContractDocument[] } | { kind: 'sdk-types'; sdk: string; note: string };

export interface ContractDocument {
  /** File name in vendor-specs/ (SOURCES.md there gives its repository and commit). */
  file: string;
  /** Which of the vendor's hosts it describes: the sandbox's main URL, or Twilio's accounts host. */
  host: 'api' | 'accounts';
  /** A prefix our paths carry that the document's paths do not (its server URL has it: OpenAI's `/v1`). */
  stripPrefix?: string;
}
