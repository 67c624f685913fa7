import { z } from 'zod';
import { isUuid } from '../../core/ids';
import { mcpServerLimitFields } from '../../../events/mcp.events';
import { envProblems } from '../../mcp/upstream-env';
import { headersProblems } from '../../mcp/upstream-headers';
import { isUrlTemplate, urlTemplateProblem } from '../../mcp/upstream-url';
import { NoQuery, QueryInt, Timestamp } from './common';

const HTTP_URL = z.url({ protocol: /^https?$/ });

export const RegisterServerBody = z
  .strictObject({
    // No '_': the gateway offers a server's tools as <name>__<tool>.
    name: z.string().regex(/^[a-z][a-z0-9-]{0,62}$/, 'lowercase letters, digits and - (max 63), starting with a letter'),
    // Left out, zod said "Invalid option"; the CLI infers it from --url or a command, REST does not.
    transport: z.enum(['stdio', 'http', 'sse'], { error: (issue) => (issue.input === undefined ? 'required: "http" or "sse" with a url, "stdio" with a command' : undefined) }),
    command: z.string().min(1).max(2000).optional(),
    args: z.array(z.string().max(4000)).max(100).optional(),
    // A stdio server's environment, values by reference to the gateway's: {"GITHUB_TOKEN": "${env:GITHUB_TOKEN}"} (recorded, so every replica and restart has it).
    env: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,199}$/), z.string().max(8000)).optional(),
    // Its path or query may refer to the gateway's environment: "https://mcp.example.com/mcp?api_key=${env:EXAMPLE_KEY}" (recorded as written, so every replica and restart connects).
    url: z
      .string()
      .max(2000)
      .refine((u) => isUrlTemplate(u) || HTTP_URL.safeParse(u).success, 'Invalid URL')
      .describe('An http(s) URL; its path or query may hold ${env:NAME} references to the gateway\'s environment (e.g. ?api_key=${env:EXAMPLE_KEY}), each variable\'s value a URL component (letters, digits, -._~ and %XX escapes)')
      .optional(),
    // This server's own timeoutMs, connectTimeoutMs and maxConcurrent, recorded in the log so every replica applies them.
    ...mcpServerLimitFields,
    // Headers for an http/sse server, values by reference to the gateway's environment: {"Authorization": "Bearer ${env:NOTION_TOKEN}"}.
    headers: z.record(z.string(), z.string().max(2000)).optional(),
  })
  .superRefine((b, ctx) => {
    if (b.transport === 'stdio' && !b.command) ctx.addIssue({ code: 'custom', path: ['command'], message: 'stdio servers need a command' });
    if (b.transport !== 'stdio' && !b.url) ctx.addIssue({ code: 'custom', path: ['url'], message: `${b.transport} servers need a url` });
    // Another transport's fields would do nothing but be recorded for ever (and a stdio server's url named it in its errors).
    for (const field of ['command', 'args'] as const) {
      if (b.transport !== 'stdio' && b[field] !== undefined) ctx.addIssue({ code: 'custom', path: [field], message: `command and args are for stdio servers (an ${b.transport} server takes url)` });
    }
    if (b.transport === 'stdio' && b.url !== undefined) ctx.addIssue({ code: 'custom', path: ['url'], message: 'url is for http and sse servers (a stdio server takes command and args)' });
    const urlProblem = b.url && isUrlTemplate(b.url) ? urlTemplateProblem(b.url) : undefined;
    if (urlProblem) ctx.addIssue({ code: 'custom', path: ['url'], message: urlProblem });
    for (const issue of b.headers ? headersProblems(b.headers, b.transport) : []) ctx.addIssue({ code: 'custom', ...issue });
    // A literal value would live in the memory of the process serving this request only: refused, not silently lost at the next restart.
    for (const issue of b.env ? envProblems(b.env, b.transport, 'refuse') : []) ctx.addIssue({ code: 'custom', ...issue });
  });
export type RegisterServerInput = z.infer<typeof RegisterServerBody>;

export const McpServerView = z.looseObject({
  id: z.string(),
  name: z.string(),
  transport: z.enum(['stdio', 'http', 'sse']),
  tenant: z.string().optional(),
  /** A stdio server's command and arguments; an http or sse server's URL (credentials redacted, or its `${env:NAME}` references as written). A shared server's only to cross-tenant callers. */
  command: z.string().optional(),
  args: z.array(z.string()).optional(),
  url: z.string().optional(),
  health: z.enum(['unknown', 'up', 'down']).optional(),
  healthReason: z.string().optional(),
  /** The server's own limits, when its registration set any (else the gateway-wide settings apply). */
  limits: z
    .object({ timeoutMs: z.number().int().optional(), connectTimeoutMs: z.number().int().optional().describe('How long it may take to connect, ms (else MCP_CONNECT_TIMEOUT_MS)'), maxConcurrent: z.number().int().optional() })
    .optional(),
  /** Header templates sent to the upstream (`Bearer ${env:NAME}`): variable names, never values. */
  headers: z.record(z.string(), z.string()).optional(),
  /** `public`: registered by a tenant's admin or operator, so the gateway connects to it at public addresses only (docs/security.md). */
  egress: z.literal('public').optional(),
  /** Every variable given to a stdio server's process, names only. */
  envKeys: z.array(z.string()).optional(),
  /** Those given by reference (`${env:NAME}`): templates, never values. */
  env: z.record(z.string(), z.string()).optional(),
  toolCount: z.number().int().optional(),
  registeredAt: Timestamp.optional().describe('When McpServerRegistered was recorded'),
});
export type McpServerViewOutput = z.infer<typeof McpServerView>;

export const McpServerList = z.object({ items: z.array(McpServerView) });

/** The list is whole (no pages, no filters): a query parameter is refused, not ignored. */
export const McpServerListQuery = NoQuery;

/**
 * A server id: a UUID (v7 before 2026-12-06, v5 since, always stored in lower case), taken in either
 * case as the other ids in paths are (Uuid); anything else of the id's characters is passed on as
 * it is, and answers 404.
 */
export const ServerIdParams = z.strictObject({
  id: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,199}$/, 'a server id')
    .transform((v) => (isUuid(v) ? v.toLowerCase() : v)),
});

export const ToolsQuery = z.strictObject({
  // A search, not a listing (an agent builder tries GET /v1/tools first): said so when left out.
  q: z
    .string({ error: (issue) => (issue.input === undefined ? 'required: what the tool should do, in words (1 to 500 characters); every tool is listed by tools/list over /mcp' : undefined) })
    .min(1)
    .max(500),
  k: QueryInt(1, 50).prefault(10),
});

export const ToolHit = z.looseObject({
  /** The name to call: `<server>__<tool>`, or its host-safe alias when LLM hosts would refuse that (docs/architecture.md). */
  name: z.string(),
  server: z.string(),
  /** The upstream's own tool name, exact. */
  tool: z.string().optional(),
  /** The upstream's human-readable title of the tool, when it gives one. */
  title: z.string().optional(),
  description: z.string().optional(),
  score: z.number(),
});
export type ToolHitOutput = z.infer<typeof ToolHit>;

export const ToolList = z.object({ items: z.array(ToolHit) });
