import { expect } from 'chai';
import { createServer, type Server } from 'node:net';
import { probeListen } from '../../src/app/probe-listen';
import { freePort } from '../support/free-port';

describe('probeListen: can this process listen there now', () => {
  let taken: Server | undefined;
  afterEach(async () => {
    if (taken) await new Promise((r) => taken!.close(r));
    taken = undefined;
  });

  it('binds free addresses and lets them go (they bind again at once)', async () => {
    const address = { host: '127.0.0.1', port: await freePort() };
    expect(await probeListen([address])).to.equal(undefined);
    expect(await probeListen([address])).to.equal(undefined);
  });

  it('names the first address taken, with its error', async () => {
    const port = await freePort();
    taken = createServer();
    await new Promise<void>((r) => taken!.listen(port, '127.0.0.1', r));
    const free = { host: '127.0.0.1', port: await freePort() };
    const busy = { host: '127.0.0.1', port };
    const r = await probeListen([free, busy]);
    expect(r?.address).to.equal(busy);
    expect(r?.error.code).to.equal('EADDRINUSE');
    expect(await probeListen([free]), 'the free one was let go').to.equal(undefined);
  });

  it('holds the earlier addresses: two on one port clash as two listens would', async () => {
    const a = { host: '127.0.0.1', port: await freePort() };
    const b = { ...a };
    expect((await probeListen([a, b]))?.address).to.equal(b);
  });

  it('skips port 0 (any free port: nothing to check)', async () => {
    expect(await probeListen([{ host: '127.0.0.1', port: 0 }, { host: '127.0.0.1', port: 0 }])).to.equal(undefined);
  });
});
