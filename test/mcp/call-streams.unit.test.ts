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

  it('an event not ended by a blank line is not handed over', async () => {
    expect((await tap(['data: cut short\n'])).data).to.deep.equal([]);
  });
});
