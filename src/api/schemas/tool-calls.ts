import { z } from 'zod';
import { PAYLOAD_HASH_SCHEME } from '../../erasure/salted-hash';
import { CURSOR_DESCRIPTION, ErrorInfo, FROM_NOT_AFTER_TO, Hex32, IsoTime, Limit, page, Uuid, Timestamp } from './common';

export const ToolCallStatus = z.enum(['requested', 'completed', 'failed']);

export const ToolCallView = z.object({
  id: z.string(),
  tenant: z.string(),
  taskId: z.string().optional().describe('The task whose step made the call; absent for a call made over /mcp or `openmcp mcp stdio`'),
  serverId: z.string(),
  server: z.string(),
  tool: z.string().describe("The upstream's own tool name; the gateway serves it as `<server>__<tool>`"),
  status: ToolCallStatus.describe('requested: no answer recorded yet; completed: the upstream answered (see isError); failed: no answer (error)'),
  argumentsHash: Hex32.optional().describe('SHA-256 of the JCS text of the arguments, recorded whatever the payload policy; for arguments recorded encrypted by 2026-12-11 on, HMAC-SHA256 of that text keyed by argumentsSalt (argumentsHashScheme), which nothing but the sealed payload holds'),
  arguments: z.unknown().optional().describe('Only when recorded: MCP_PAYLOAD_POLICY=store (or encrypted, opened with the subject\'s key) and at most 256 KiB of JSON (arguments a model wrote under LLM_REDACTION=hash-only are not)'),
  resultHash: Hex32.optional(),
  result: z.unknown().optional().describe('Only when recorded, as arguments'),
  argumentsErased: z.literal(true).optional().describe("The arguments were recorded encrypted (MCP_PAYLOAD_POLICY=encrypted) and the subject's key has been erased: only argumentsHash remains"),
  resultErased: z.literal(true).optional().describe('The result was recorded encrypted and its key erased: only resultHash remains'),
  argumentsHashScheme: z.literal(PAYLOAD_HASH_SCHEME).optional().describe('Shown for a salted argumentsHash (MCP_PAYLOAD_POLICY=encrypted, from 2026-12-11), also after erasure: argumentsHash is HMAC-SHA256 keyed by argumentsSalt over the JCS text of arguments (docs/security.md, "Salted payload hashes")'),
  argumentsSalt: Hex32.optional().describe('The salt argumentsHash is keyed by, read from the sealed payload (or, for arguments kept by hash only, the salt sealed alone) while the subject\'s key exists: gone with it'),
  resultHashScheme: z.literal(PAYLOAD_HASH_SCHEME).optional().describe('As argumentsHashScheme, for resultHash'),
  resultSalt: Hex32.optional().describe('The salt resultHash is keyed by, read from the sealed payload (gone with its key)'),
  errorSalt: Hex32.optional().describe('A failed call under MCP_PAYLOAD_POLICY=encrypted, while the subject\'s key exists: the salt of the digest error.message ends with (`hmac-sha256-salted-v1 <hash>`: HMAC-SHA256 keyed by it over the JCS text of the withheld message, a JSON string), read from its sealed copy (gone with the key)'),
  isError: z.boolean().optional().describe('The upstream answered with a tool-level error result'),
  cached: z.boolean().optional(),
  latencyMs: z.number().optional(),
  error: ErrorInfo.optional(),
  requestedAt: Timestamp.optional(),
  completedAt: Timestamp.optional(),
});
export type ToolCallViewOutput = z.infer<typeof ToolCallView>;

const Name = z.string().min(1).max(200);

export const ToolCallListQuery = z.strictObject({
  server: Name.optional().describe('The server name, as in `<server>__<tool>`'),
  tool: Name.optional().describe("The upstream's own tool name (`echo`), or the name the gateway serves it by (`examples__echo`, split at its first `__` into server and tool; an alias is the tool the gateway serves by it, or, no longer served, the tool of the calls made by it; the next pages read it as the first did): calls matching either reading, with server only those of that server"),
  status: ToolCallStatus.optional(),
  taskId: Uuid('a task id is a UUID').optional(),
  from: IsoTime.optional().describe('requestedAt at or after'),
  to: IsoTime.optional().describe('requestedAt at or before'),
  limit: Limit,
  // Longer than other lists' cursors: it keeps how `tool` was read (its name and the tool it resolved to).
  cursor: z.string().regex(/^[A-Za-z0-9_-]{1,4096}$/, 'a cursor from a previous page').describe(CURSOR_DESCRIPTION).optional(),
}).refine(...FROM_NOT_AFTER_TO);
export type ToolCallListQueryInput = z.input<typeof ToolCallListQuery>;

export const ToolCallPage = page(ToolCallView);
