// A stdio MCP server written without the SDK (its JSON.stringify could not write what this one
// does): tools/call of `deep {n, as}` answers a result whose structuredContent nests `n` levels
// deep, the result itself n + 1 (`as: "result"`), or a JSON-RPC error whose `data` nests n levels
// (`as: "error"`); `n: 0` answers a result without structuredContent. The JSON is built as text,
// so any depth can be sent.
// DEEP_SCHEMA=n lists a second tool, `schema`, whose inputSchema nests n levels deep;
// DEEP_OUTPUT_SCHEMA=n gives it an outputSchema that deep instead.
// RECURSIVE_OUTPUT_SCHEMA=1 gives `deep` an outputSchema that refers to itself. `as: "log"` logs (notifications/message)
// data nested n levels deep (arrays, two bytes a level) before it answers, `as: "progress"` sends it in a
// progress notification's extra field.
const rl = require('node:readline').createInterface({ input: process.stdin });
const send = (s) => process.stdout.write(`${s}\n`);
const nested = (n) => '{"a":'.repeat(n - 1) + '{}' + '}'.repeat(n - 1);
rl.on('line', (line) => {
  const m = JSON.parse(line);
  if (m.id === undefined) return;
  const id = JSON.stringify(m.id);
  if (m.method === 'initialize') {
    return send(JSON.stringify({ jsonrpc: '2.0', id: m.id, result: { protocolVersion: m.params.protocolVersion, capabilities: { tools: {}, logging: {} }, serverInfo: { name: 'deep', version: '1' } } }));
  }
  if (m.method === 'tools/list') {
    const tools = [{ name: 'deep', description: 'answers nested n levels deep', inputSchema: { type: 'object' }, annotations: { readOnlyHint: true, idempotentHint: true } }];
    // RECURSIVE_OUTPUT_SCHEMA=1: `deep` declares an outputSchema its results match at any depth (the SDK validates them).
    if (process.env.RECURSIVE_OUTPUT_SCHEMA) tools[0].outputSchema = { type: 'object', additionalProperties: { $ref: '#' } };
    const schema = Number(process.env.DEEP_SCHEMA ?? 0);
    const output = Number(process.env.DEEP_OUTPUT_SCHEMA ?? 0);
    const listed = JSON.stringify(tools).slice(1, -1);
    if (!schema && !output) return send(JSON.stringify({ jsonrpc: '2.0', id: m.id, result: { tools } }));
    const deepTool = schema
      ? `{"name":"schema","inputSchema":{"type":"object","properties":${nested(schema)}}}`
      : `{"name":"schema","inputSchema":{"type":"object"},"outputSchema":{"type":"object","properties":${nested(output)}}}`;
    return send(`{"jsonrpc":"2.0","id":${id},"result":{"tools":[${listed},${deepTool}]}}`);
  }
  if (m.method === 'tools/call') {
    const { n = 0, as = 'result' } = m.params.arguments ?? {};
    const arrays = '['.repeat(n) + ']'.repeat(n);
    if (as === 'log') send(`{"jsonrpc":"2.0","method":"notifications/message","params":{"level":"info","data":${arrays}}}`);
    const token = m.params._meta?.progressToken;
    if (as === 'progress' && token !== undefined) send(`{"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":${JSON.stringify(token)},"progress":1,"extra":${arrays}}}`);
    if (as === 'error') return send(`{"jsonrpc":"2.0","id":${id},"error":{"code":-32010,"message":"too deep to say","data":${nested(n)}}}`);
    if (as !== 'result') return send(`{"jsonrpc":"2.0","id":${id},"result":{"content":[{"type":"text","text":"deep"}]}}`);
    const structured = n > 0 ? `,"structuredContent":${nested(n)}` : process.env.RECURSIVE_OUTPUT_SCHEMA ? ',"structuredContent":{}' : '';
    return send(`{"jsonrpc":"2.0","id":${id},"result":{"content":[{"type":"text","text":"deep"}]${structured}}}`);
  }
  if (m.method === 'ping') return send(JSON.stringify({ jsonrpc: '2.0', id: m.id, result: {} }));
  send(JSON.stringify({ jsonrpc: '2.0', id: m.id, error: { code: -32601, message: `no method ${m.method}` } }));
});
