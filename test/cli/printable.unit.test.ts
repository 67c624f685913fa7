import { expect } from 'chai';
import { runTasksAnswer } from '../../src/cli/task-answer';
import { runTasksShow } from '../../src/cli/tasks';
import { runToolCallsList, runToolCallsShow } from '../../src/cli/tool-calls';
import type { OpenMcpClient } from '../../src/sdk/client';

/** Text that others wrote reaches the terminal of whoever runs the CLI: no escape sequence of theirs may act on it. */
describe('CLI: text of others is printed without its control characters', () => {
  it('tasks show: an instruction, a step tool and an error message holding ESC sequences print them as \\u escapes', async () => {
    // Clear the screen, set the window title, write the clipboard (OSC 52): what an agent key's holder could send.
    const hostile = 'hi\u001b[2J\u001b]0;pwned\u0007\u001b]52;c;Y3VybCBldmlsfHNo\u0007\r\nfake line\u009b31m';
    const task = {
      id: '01900000-0000-7000-8000-000000000001', tenant: 'acme', status: 'failed', createdAt: 'c', updatedAt: 'u',
      instruction: hostile,
      steps: [{ index: 0, tool: `x${hostile}`, status: 'failed', error: { code: 'MCP_UPSTREAM_ERROR', message: hostile } }],
      error: { code: 'TASK_FAILED', message: hostile },
    };
    const client = { tasks: { get: async () => task } } as unknown as OpenMcpClient;
    const lines: string[] = [];
    expect(await runTasksShow(client, task.id, {}, (l) => lines.push(l), )).to.equal(0);
    const text = lines.join('\n');
    // The table's own borders carry no colour when stdout is not a terminal (cliTable): any ESC here came from the data.
    expect(text).to.not.match(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/);
    expect(text).to.include('\\u001b[2J');
    expect(lines.find((l) => l.startsWith('instruction: '))).to.equal('instruction: hi\\u001b[2J\\u001b]0;pwned\\u0007\\u001b]52;c;Y3VybCBldmlsfHNo\\u0007\\u000d\\u000afake line\\u009b31m');
  });
});

describe('CLI: tool-calls list prints others\' text without its control characters', () => {
  it('an upstream error message and tool name holding ESC sequences print them as \\u escapes', async () => {
    const hostile = 'boom\u001b[2J\u001b]52;c;Y3VybCBldmlsfHNo\u0007\r\nfake line\u009b31m';
    const call = {
      id: '01900000-0000-7000-8000-000000000002', tenant: 'acme', serverId: 's1', server: 'files', tool: `read${hostile}`,
      status: 'failed', requestedAt: '2026-12-09T00:00:00.000Z', error: { code: 'MCP_UPSTREAM_ERROR', message: hostile },
    };
    const client = { toolCalls: { list: async () => ({ items: [call] }) } } as unknown as OpenMcpClient;
    const lines: string[] = [];
    expect(await runToolCallsList(client, {}, (l) => lines.push(l))).to.equal(0);
    const text = lines.join('\n');
    expect(text).to.not.match(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/);
    expect(text).to.include('\\u001b[2J');
  });
});

describe('CLI: payloads and answers of others print without control characters, --json too', () => {
  // JSON.stringify escapes C0 but leaves DEL and the C1 controls as they are: U+009B is CSI, which
  // xterm and others act on in UTF-8 as ESC [ (clear the screen, recolour, move the cursor).
  const hostile = 'hi\u009b2J\u009b31m\u001b]52;c;Y3VybCBldmlsfHNo\u0007\u007f';
  const c1 = /[\u007f-\u009f]/;

  it('tool-calls show: arguments and result (a tool or another key of the tenant wrote them), and --json', async () => {
    const call = {
      id: '01900000-0000-7000-8000-000000000003', tenant: 'acme', serverId: 's1', server: 'files', tool: 'read', status: 'completed',
      argumentsHash: '0x1', arguments: { path: hostile }, resultHash: '0x2', result: { content: [{ type: 'text', text: hostile }] },
    };
    const client = { toolCalls: { get: async () => call } } as unknown as OpenMcpClient;
    for (const json of [false, true]) {
      const lines: string[] = [];
      expect(await runToolCallsShow(client, call.id, { json }, (l) => lines.push(l))).to.equal(0);
      const text = lines.join('\n');
      expect(text, `json: ${json}`).to.not.match(c1);
      expect(text).to.include('\\u009b2J');
      if (json) expect(JSON.parse(text).result.content[0].text, 'still the same JSON').to.equal(hostile);
    }
  });

  it("tasks show: the task's output, and --json", async () => {
    const task = { id: '01900000-0000-7000-8000-000000000004', tenant: 'acme', status: 'completed', createdAt: 'c', updatedAt: 'u', steps: [], output: { answer: hostile } };
    const client = { tasks: { get: async () => task } } as unknown as OpenMcpClient;
    for (const json of [false, true]) {
      const lines: string[] = [];
      expect(await runTasksShow(client, task.id, { json }, (l) => lines.push(l))).to.equal(0);
      expect(lines.join('\n'), `json: ${json}`).to.not.match(c1);
    }
  });

  it("tasks answer: the model's answer (what tool output steered it to write) keeps its lines and tabs, not its escape sequences; --json gives it exactly", async () => {
    const answer = `line one\n\tline two ${hostile}\u001b[2J`;
    const client = { tasks: { answer: async () => ({ answer, answerHash: '0x3' }) } } as unknown as OpenMcpClient;
    const lines: string[] = [];
    expect(await runTasksAnswer(client, 'id', {}, (l) => lines.push(l))).to.equal(0);
    expect(lines.join('\n')).to.not.match(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/);
    expect(lines.join('\n')).to.include('line one\n\tline two hi\\u009b2J').and.include('\\u001b[2J');
    const json: string[] = [];
    expect(await runTasksAnswer(client, 'id', { json: true }, (l) => json.push(l))).to.equal(0);
    expect(json.join('\n')).to.not.match(c1);
    expect(JSON.parse(json.join('\n')).answer).to.equal(answer);
  });
});
