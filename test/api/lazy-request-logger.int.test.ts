import { expect } from 'chai';
import { Writable } from 'node:stream';
import { lazyRequestLogger } from '../../src/api/lazy-request-logger';
import { createLogger } from '../../src/api/logger';
import { makeHarness } from './support/harness';

function sink() {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      for (const l of String(chunk).split('\n').filter(Boolean)) {
        const { time: _t, ...rest } = JSON.parse(l) as Record<string, unknown>;
        lines.push(rest);
      }
      cb();
    },
  });
  return { lines, stream };
}

type RequestLogger = ReturnType<typeof lazyRequestLogger> & { setBindings(b: Record<string, string>): void };
const lazyChild = (parent: ReturnType<typeof createLogger>, bindings: Record<string, string>) =>
  lazyRequestLogger.call(null as never, parent, bindings, {}, null as never) as RequestLogger;

describe("a request's logger, made when it first writes (lazyRequestLogger)", () => {
  it("writes the same lines as pino's own child, bindings set before or after its first line", () => {
    const a = sink();
    const b = sink();
    const eager = createLogger('info', a.stream).child({ reqId: 'r1' });
    const lazy = lazyChild(createLogger('info', b.stream), { reqId: 'r1' });
    for (const log of [eager as unknown as RequestLogger, lazy]) {
      log.debug('not written');
      log.setBindings({ tenant: 'acme', subject: 'k1' });
      log.info({ code: 'X' }, 'first');
      log.setBindings({ extra: 'y' });
      log.warn('second');
      log.child({ part: 'p' }).error('third');
    }
    expect(b.lines).to.deep.equal(a.lines);
    expect(b.lines.map((l) => l.msg)).to.deep.equal(['first', 'second', 'third']);
    expect(b.lines[1]).to.include({ reqId: 'r1', tenant: 'acme', subject: 'k1', extra: 'y' });
  });

  it('a request that writes no line makes no pino child', async () => {
    const logger = createLogger('warn', sink().stream);
    let children = 0;
    const child = logger.child.bind(logger);
    logger.child = ((...args: Parameters<typeof child>) => (children++, child(...args))) as typeof logger.child;
    const h = await makeHarness({ logger });
    try {
      const k = await h.key('viewer', 'acme');
      children = 0;
      expect((await h.call({ method: 'GET', url: '/v1/tasks', auth: k.auth })).statusCode).to.equal(200);
      expect(children).to.equal(0);
    } finally {
      await h.close();
    }
  });
});
