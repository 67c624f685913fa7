import { expect } from 'chai';
import { OpenMcpClient } from '../../src/sdk';

/**
 * The SDK's list queries type their numbers as numbers. They were the schemas' input types, where
 * z.coerce.number() takes `unknown`: `limit: 'abc'` or `after: {}` compiled, and the server
 * answered 400. `npx tsc --noEmit -p .` checks the @ts-expect-error lines below; the test itself
 * checks that well-typed queries are sent as they are.
 */
describe('SDK list queries: numbers are typed as numbers', () => {
  it('sends limit, after and k as given; refuses other types at compile time', async () => {
    const urls: string[] = [];
    const fetch: typeof globalThis.fetch = async (input) => {
      urls.push(String(input));
      return new Response(JSON.stringify({ items: [] }), { status: 200, headers: { 'content-type': 'application/json' } });
    };
    const c = new OpenMcpClient({ baseUrl: 'http://sdk.invalid', fetch });
    await c.tasks.list({ limit: 5 });
    await c.events.list({ after: 3, limit: 2 });
    await c.toolCalls.list({ limit: 7 });
    await c.tasks.events('01a24b56-c028-737c-ae1e-d2ef8430a759', { after: 1 });
    await c.tools.search('echo', 3);
    expect(urls.map((u) => new URL(u).search)).to.deep.equal(['?limit=5', '?after=3&limit=2', '?limit=7', '?after=1', '?q=echo&k=3']);

    const never = async (f: () => Promise<unknown>) => void f;
    // @ts-expect-error limit is a number
    await never(() => c.tasks.list({ limit: 'abc' }));
    // @ts-expect-error after is a number
    await never(() => c.events.list({ after: {} }));
    // @ts-expect-error limit is a number
    await never(() => c.events.list({ limit: [] }));
    // @ts-expect-error limit is a number
    await never(() => c.toolCalls.list({ limit: '10' }));
    // @ts-expect-error limit is a number
    await never(() => c.tasks.all({ limit: true }));
  });
});
