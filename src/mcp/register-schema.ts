import { z } from 'zod';
import { McpServerLimitsV5Schema } from '../../events/mcp.events';
import { envProblems } from './upstream-env';
import { headersProblems } from './upstream-headers';
import { isUrlTemplate, urlTemplateProblem } from './upstream-url';

const HTTP_URL = z.url({ protocol: /^https?$/ });

/** What the gateway registers, from the API (`POST /v1/mcp-servers`, the CLI) and from MCP_SERVERS_FILE alike. */
const RegisterSchema = z
  .object({
    tenant: z.string().min(1).max(100),
    name: z.string().regex(/^[a-z][a-z0-9-]{0,62}$/, 'lowercase letters, digits and -, starting with a letter (no "__")'),
    transport: z.enum(['stdio', 'http', 'sse']),
    command: z.string().min(1).max(2000).optional(),
    args: z.array(z.string().max(4000)).max(100).optional(),
    env: z.record(z.string().max(200), z.string()).optional(),
    cwd: z.string().optional(),
    // A template (`?api_key=${env:NAME}`) is checked as one below: it parses only once its references stand for values.
    url: z
      .string()
      .refine((u) => isUrlTemplate(u) || HTTP_URL.safeParse(u).success, 'Invalid URL')
      .refine((u) => !/^[a-z]+:\/\/[^/]*@/i.test(u), 'a user name or password in the URL is not supported (fetch refuses it, and the log must not hold it)')
      .optional(),
    limits: McpServerLimitsV5Schema.optional(),
    headers: z.record(z.string(), z.string()).optional(),
    egress: z.literal('public').optional(),
  })
  .refine((p) => (p.transport === 'stdio' ? !!p.command : !!p.url), {
    message: 'stdio needs a command; http and sse need a url',
    path: ['transport'],
  })
  .superRefine((p, ctx) => {
    const urlProblem = p.url && isUrlTemplate(p.url) ? urlTemplateProblem(p.url) : undefined;
    if (urlProblem) ctx.addIssue({ code: 'custom', path: ['url'], message: urlProblem });
    for (const issue of p.headers ? headersProblems(p.headers, p.transport) : []) ctx.addIssue({ code: 'custom', ...issue });
    // Literal values are kept (in memory only): MCP_SERVERS_FILE and in-process callers give them again at each start.
    for (const issue of p.env ? envProblems(p.env, p.transport, 'keep') : []) ctx.addIssue({ code: 'custom', ...issue });
  });

/**
 * The first reason the gateway would refuse to register `p`, or undefined. MCP_SERVERS_FILE asks
 * it of every entry before registering any, so a bad entry stops the start with nothing recorded.
 * @example registrationProblem({ tenant: 'acme', name: 'files', transport: 'stdio' })
 *   // → { path: ['transport'], message: 'stdio needs a command; http and sse need a url' }
 */
export function registrationProblem(p: unknown): { path: PropertyKey[]; message: string } | undefined {
  const parsed = RegisterSchema.safeParse(p);
  return parsed.success ? undefined : parsed.error.issues[0];
}
