import { expect } from 'chai';
import fc from 'fast-check';
import { sseDataTap } from '../../src/mcp/call-streams';

/** The data `sseDataTap` hands over for `text` cut into `chunks`, and whether every byte passed through unchanged. */
async function tap(chunks: string[]): Promise<{ data: string[]; passed: string }> {
  const data: string[] = [];
  const bytes = new ReadableStream<Uint8Array>({
    start(c) {
      for (const chunk of chunks) c.enqueue(new TextEncoder().encode(chunk));
      c.close();
    },
  }).pipeThrough(sseDataTap((d) => data.push(d)));
  const passed = await new Response(bytes).text();
  return { data, passed };
}

describe('sseDataTap: the data of each SSE event, before the chunk that completes it passes on', () => {
  it('reads message events (typed or not), joins data lines, skips comments, other types and empty events', async () => {
    const text = ': keep-alive\n\nid: 1\ndata: {"a":1}\n\nevent: message\ndata: x\ndata:y\n\nevent: ping\ndata: no\n\nretry: 5\n\n';
    const { data, passed } = await tap([text]);
    expect(data).to.deep.equal(['{"a":1}', 'x\ny']);
    expect(passed).to.equal(text);
  });

  it('an event split anywhere (a CRLF too) reads the same as whole, and only once complete', async () => {
    const text = 'data: {"method":"sampling/createMessage","id":3}\r\n\r\ndata: two\r\rdata: three\n\n';
    const whole = (await tap([text])).data;
    expect(whole).to.deep.equal(['{"method":"sampling/createMessage","id":3}', 'two', 'three']);
    await fc.assert(
      fc.asyncProperty(fc.uniqueArray(fc.integer({ min: 1, max: text.length - 1 }), { maxLength: 6 }), async (cuts) => {
        const at = [0, ...cuts.sort((x, y) => x - y), text.length];
        const chunks = at.slice(1).map((end, i) => text.slice(at[i], end));
        const { data, passed } = await tap(chunks);
        expect(data).to.deep.equal(whole);
        expect(passed).to.equal(text);
      }),
    );
  });

  it('reads as a whole-text parser does, whatever the line ends (mixed too) and wherever the chunks are cut', async () => {
    /** The straightforward reading: the whole text split at its line ends, at once. */
    const plain = (text: string): string[] => {
      const out: string[] = [];
      let data: string[] = [];
      let type = '';
      const lines = text.split(/\r\n|\r|\n/);
      lines.pop(); // what follows the last line end is no line yet
      for (const l of lines) {
        if (l === '') {
          if (data.length && (type === '' || type === 'message')) out.push(data.join('\n'));
          data = [];
          type = '';
        } else if (l.startsWith('data:')) data.push(l.slice(5).replace(/^ /, ''));
        else if (l.startsWith('event:')) type = l.slice(6).replace(/^ /, '');
      }
      return out;
    };
    const eol = fc.constantFrom('\r\n', '\n', '\r');
    const field = fc.oneof(fc.constantFrom('data: x', 'data:é', 'event: ping', ': c', 'data: {"id":1}'), fc.constant(''));
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(field, eol), { minLength: 1, maxLength: 12 }).map((ls) => ls.map(([l, e]) => l + e).join('')),
        fc.array(fc.nat(), { maxLength: 8 }),
        async (text, rawCuts) => {
          const bytes = new TextEncoder().encode(text);
          const cuts = [...new Set(rawCuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
          const at = [0, ...cuts, bytes.length];
          const chunks = at.slice(1).map((end, i) => bytes.slice(at[i], end));
          const data: string[] = [];
          const stream = new ReadableStream<Uint8Array>({
            start(c) {
              for (const chunk of chunks) c.enqueue(chunk);
              c.close();
            },
          }).pipeThrough(sseDataTap((d) => data.push(d)));
          expect(await new Response(stream).text()).to.equal(text);
          expect(data).to.deep.equal(plain(text));
        },
      ),
      { numRuns: 500 },
    );
  });

  it('an event not ended by a blank line is not handed over', async () => {
    expect((await tap(['data: cut short\n'])).data).to.deep.equal([]);
  });
});
