import { expect } from 'chai';
import { OpenMcpClient } from '../../src/sdk';

describe('OpenMcpClient.tasks.all', () => {
  it('starts at the cursor it is given (tasks list --all --cursor), then follows nextCursor', async () => {
    const asked: (string | null)[] = [];
    const pages: Record<string, { items: unknown[]; nextCursor?: string }> = { c1: { items: [], nextCursor: 'c2' }, c2: { items: [] } };
    const fakeFetch = (async (input: string | URL) => {
      const cursor = new URL(String(input)).searchParams.get('cursor');
      asked.push(cursor);
      return new Response(JSON.stringify(cursor ? pages[cursor] : { items: [], nextCursor: 'c1' }), { status: 200, headers: { 'content-type': 'application/json' } });
    }) as typeof fetch;
    const client = new OpenMcpClient({ baseUrl: 'http://127.0.0.1:1', fetch: fakeFetch });
    for await (const _ of client.tasks.all({ cursor: 'c1' })) void _;
    expect(asked).to.deep.equal(['c1', 'c2']);
  });
});
