import { expect } from 'chai';

const MODULE: string = '../../ui/app/route.js';
const load = async () => (await import(MODULE)) as { parseRoute(hash: string): string[] };

describe('dashboard hash routes', () => {
  it('decodes the segments of a route', async () => {
    const { parseRoute } = await load();
    expect(parseRoute('#/tasks/a%20b')).to.deep.equal(['tasks', 'a b']);
    expect(parseRoute('')).to.deep.equal(['']);
    expect(parseRoute('#/verify/01937a6e-7f00-7000-8000-000000000001')).to.deep.equal(['verify', '01937a6e-7f00-7000-8000-000000000001']);
  });

  it('keeps a malformed escape as typed instead of throwing (a pasted link with a stray % blanked the whole page)', async () => {
    const { parseRoute } = await load();
    expect(parseRoute('#/tasks/50%')).to.deep.equal(['tasks', '50%']);
    expect(parseRoute('#/tasks/%E0%A4%A')).to.deep.equal(['tasks', '%E0%A4%A']);
  });
});
