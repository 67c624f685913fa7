/**
 * An MCP server whose tools ask the client that called them: `sample` for a completion
 * (sampling/createMessage), `elicit` for a form (elicitation/create). With `related: true`
 * (the default) the request goes with the call (extra.sendRequest: over streamable HTTP, on the
 * call's own SSE stream); with `related: false` it goes on its own (Server.createMessage /
 * elicitInput: over HTTP, the session's GET stream), as many servers send it. Whatever the
 * client answers, or the error it answered with, is the tool's text. `background` answers at once,
 * then asks for a completion outside any call; `background_outcome` tells what came of it.
 * `wait` answers after `ms`. Run as a stdio server, or built per session by asking-upstream.ts.
 */
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { CreateMessageResultSchema, ElicitResultSchema, McpError, type CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';

const text = (t: string, isError = false): CallToolResult => ({ content: [{ type: 'text', text: t }], ...(isError ? { isError: true } : {}) });

/** The error an asked client answered, as the tool shows it: `refused <code> <data.code>: <message>`. */
function refusal(err: unknown): CallToolResult {
  const e = err as McpError;
  const code = (e.data as { code?: string } | undefined)?.code;
  return text(`refused ${e.code} ${code ?? '-'}: ${e.message}`, true);
}

export function buildAskingServer(): McpServer {
  const s = new McpServer({ name: 'asking', version: '1.0.0' });
  let backgroundOutcome = 'none yet';

  s.registerTool('sample', { description: 'Ask the client for a completion of `prompt`.', inputSchema: { prompt: z.string(), related: z.boolean().optional() } }, async ({ prompt, related }, extra) => {
    const params = { messages: [{ role: 'user' as const, content: { type: 'text' as const, text: prompt } }], maxTokens: 50 };
    try {
      const r =
        related === false
          ? await s.server.createMessage(params)
          : await extra.sendRequest({ method: 'sampling/createMessage', params }, CreateMessageResultSchema);
      return text(`sampled by ${r.model}: ${r.content.type === 'text' ? r.content.text : r.content.type}`);
    } catch (err) {
      return refusal(err);
    }
  });

  s.registerTool('elicit', { description: 'Ask the user for their name.', inputSchema: { message: z.string(), related: z.boolean().optional() } }, async ({ message, related }, extra) => {
    const params = { mode: 'form' as const, message, requestedSchema: { type: 'object' as const, properties: { name: { type: 'string' as const } }, required: ['name'] } };
    try {
      const r = related === false ? await s.server.elicitInput(params) : await extra.sendRequest({ method: 'elicitation/create', params }, ElicitResultSchema);
      return text(`elicited ${r.action}${r.content ? ` ${JSON.stringify(r.content)}` : ''}`);
    } catch (err) {
      return refusal(err);
    }
  });

  s.registerTool('background', { description: 'Answer, then ask for a completion outside any call.', inputSchema: {} }, async () => {
    backgroundOutcome = 'pending';
    setTimeout(() => {
      s.server
        .createMessage({ messages: [{ role: 'user', content: { type: 'text', text: 'unasked' } }], maxTokens: 5 }, { timeout: 10_000 })
        .then(
          (r) => (backgroundOutcome = `answered: ${r.content.type === 'text' ? r.content.text : ''}`),
          (err) => (backgroundOutcome = (refusal(err).content[0] as { text: string }).text),
        );
    }, 50);
    return text('asked later');
  });

  s.registerTool('background_outcome', { description: 'What came of the last background request.', inputSchema: {} }, async () => text(backgroundOutcome));

  s.registerTool('wait', { description: 'Answer after ms.', inputSchema: { ms: z.number().int() } }, async ({ ms }) => {
    await new Promise((r) => setTimeout(r, ms));
    return text(`waited ${ms}`);
  });
  return s;
}

if (require.main === module) void buildAskingServer().connect(new StdioServerTransport());
