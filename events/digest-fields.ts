import { z } from 'zod';

const sha256 = z.string().regex(/^0x[0-9a-f]{64}$/);
const JCS = 'RFC 8785 (JCS) canonical JSON';

/**
 * The fields of events that are digests or chain hashes, each described with what it is the hash
 * of: the description goes into the JSON Schemas (events/schema/), where consumers in other
 * languages read how to recompute it. All are `0x` + 64 lowercase hex.
 * @example z.strictObject({ argumentsHash: digest.argumentsHash, argumentsJson: z.string().optional() })
 */
export const digest = {
  argumentsHash: sha256.describe(`SHA-256 of the ${JCS} of the call's arguments (the object; argumentsJson, when recorded, is that canonical text)`),
  resultHash: sha256.describe(`SHA-256 of the ${JCS} of the result (an MCP tool's: its CallToolResult object; resultJson, when recorded, is that canonical text)`),
  toolsHash: sha256.describe(`SHA-256 of the ${JCS} of \`tools\`, the array as recorded here: a discovery is recorded only when it differs from the last`),
  outputHash: sha256.describe(`SHA-256 of the ${JCS} of \`output\`; \`signature\` is the agent runtime's signature over it (docs/agent.md, "Signed output")`),
  instructionHash: sha256.describe(`SHA-256 of the ${JCS} of the instruction, a JSON string (the instruction in double quotes, escaped)`),
  reasonHash: sha256.describe(
    `SHA-256 of the ${JCS} of the whole reason kept out of the log (a JSON string, not cut), the credentials of any URL in it replaced by ***; the gateway's own log (stderr) gives the same digest beside the reason`,
  ),
  promptHash: sha256.describe(`SHA-256 of the ${JCS} of {model, messages, tools, temperature, maxTokens} as sent to the model`),
  contentHash: sha256.describe(`SHA-256 of the ${JCS} of the message's text, a JSON string ("" when it had none): the task's answerHash for a final turn`),
  proposalHash: sha256.describe(`SHA-256 of the ${JCS} of the transaction proposal (docs/policy.md, "Approvals"): approvals name it, and release that proposal only`),
  policyHash: sha256.describe(`SHA-256 of the ${JCS} of the policy entry that decided, as POLICY_FILE writes it (nothing filled in; docs/policy.md, "Which policy decided"): the version of the entry \`policy\` names`),
  saltedArgumentsHash: sha256.describe(
    `HMAC-SHA256 keyed by the payload's salt (32 random bytes, kept only inside the sealed payload: its plaintext is the salt as 0x and 64 hex, then the ${JCS} of the arguments) over that canonical JSON (argumentsHashScheme "hmac-sha256-salted-v1"); once the key is erased it confirms no guess. Without argumentsHashScheme (an earlier version read as this one): the SHA-256 of that canonical JSON`,
  ),
  saltedResultHash: sha256.describe(`HMAC-SHA256 keyed by the payload's salt (kept only inside resultSealed, before the ${JCS} of the result) over that canonical JSON (resultHashScheme "hmac-sha256-salted-v1"); without resultHashScheme (an earlier version read as this one), the SHA-256 of that canonical JSON`),
  saltedInstructionHash: sha256.describe(
    `HMAC-SHA256 keyed by the payload's salt (kept only inside instructionSealed, before the ${JCS} of the instruction, a JSON string) over that canonical JSON (instructionHashScheme "hmac-sha256-salted-v1"); without instructionHashScheme (an earlier version read as this one), the SHA-256 of that canonical JSON`,
  ),
  saltedResponseHash: sha256.describe(
    `HMAC-SHA256 keyed by the turn's salt (32 random bytes, sealed alone under the submitter's data key in hashSaltSealed) over the ${JCS} of the whole assistant message (hashScheme "hmac-sha256-salted-v1"); once the key is erased it confirms no guess of the message or of its tool calls' arguments. Without hashScheme (an earlier version read as this one, or a turn not under MCP_PAYLOAD_POLICY=encrypted): the SHA-256 of that canonical JSON`,
  ),
  saltedPromptHash: sha256.describe(
    `HMAC-SHA256 keyed by the turn's prompt salt (32 random bytes, sealed alone under the submitter's data key in promptHashSaltSealed) over the ${JCS} of {model, messages, tools, temperature, maxTokens} as sent to the model (promptHashScheme "hmac-sha256-salted-v1"); once the key is erased it confirms no guess of the prompt (the instruction, earlier turns' tool calls and the tools' results). Without promptHashScheme (an earlier version read as this one, or a turn not run under LLM_REDACTION=hash-only and MCP_PAYLOAD_POLICY=encrypted): the SHA-256 of that canonical JSON`,
  ),
  saltedContentHash: sha256.describe(
    `HMAC-SHA256 keyed by the turn's salt (the one sealed alone in responseRedacted.hashSaltSealed) over the ${JCS} of the message's text, a JSON string (contentHashScheme "hmac-sha256-salted-v1": a turn that asked for tool calls, under MCP_PAYLOAD_POLICY=encrypted); without contentHashScheme, the SHA-256 of that canonical JSON: the task's answerHash for a final turn`,
  ),
  txHash: sha256.describe('The transaction hash on its chain'),
  blockHash: sha256.describe('The hash of the block that included the transaction'),
};
