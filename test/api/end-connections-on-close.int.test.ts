import { expect } from 'chai';
import Fastify, { type FastifyInstance } from 'fastify';
import { Agent, request, type IncomingMessage, type ServerResponse } from 'node:http';
import { connect, type Socket } from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { endConnectionsOnClose } from '../../src/api/end-connections-on-close';

/**
 * endConnectionsOnClose on a real listening server and keep-alive clients: a request in flight
 * when `app.close()` begins is answered, then its connection ends, and the close resolves (it
 * waited for the client's keep-alive timeout). Ordered by events, not timed.
 */
describe('endConnectionsOnClose: keep-alive connections in use at close end after their answer', function () {
  this.timeout(30_000);
  let app: FastifyInstance;
  let agent: Agent;
  let url: string;
  let release: () => void;
  let entered: Promise<void>;
  let closing: Promise<void>;

  beforeEach(async () => {
    let enter!: () => void;
    entered = new Promise((r) => (enter = r));
    const held = new Promise<void>((r) => (release = r));
    app = Fastify({ keepAliveTimeout: 60_000 });
    endConnectionsOnClose(app);
    // The close has begun (preClose hooks run in order): the requests in flight are known.
    closing = new Promise((r) => app.addHook('preClose', (done) => (r(), done())));
    // A REST-like route (fastify writes the head) and a stream (the route wrote its head itself,
    // saying keep-alive, before the close began).
    app.get('/slow', async () => {
      enter();
      await held;
      return { done: true };
    });
    app.get('/stream', (_request, reply) => {
      reply.hijack();
      reply.raw.writeHead(200, { 'content-type': 'text/event-stream', connection: 'keep-alive' });
      reply.raw.write(': open\n\n');
      enter();
      void held.then(() => reply.raw.end());
    });
    url = await app.listen({ host: '127.0.0.1', port: 0 });
    agent = new Agent({ keepAlive: true, maxSockets: 1 });
  });
  afterEach(async () => {
    release();
    agent.destroy();
    await app.close();
  });

  /** A GET on the keep-alive agent; `log` hears its answer end and its connection close. */
  function get(path: string, log: string[]): Promise<IncomingMessage> {
    return new Promise((resolve, reject) => {
      request(`${url}${path}`, { agent }, (res) => {
        res.resume().once('end', () => log.push('answered'));
        res.socket.once('close', () => log.push('connection ended'));
        resolve(res);
      })
        .once('error', reject)
        .end();
    });
  }

  /**
   * What `log` held once it had all three entries, or after 10 s: far below the 60 s keep-alive
   * timeout the close waited for. The answer comes before its connection's end; the server's close
   * may resolve before the client hears either.
   */
  async function until(log: string[]): Promise<string[]> {
    for (const end = Date.now() + 10_000; log.length < 3 && Date.now() < end; ) await new Promise((r) => setTimeout(r, 20));
    return log.filter((e) => e !== 'closed').concat(log.includes('closed') ? ['closed'] : []);
  }

  it('a request in flight at close: answered with Connection: close, then its connection ends, and the close resolves', async () => {
    const log: string[] = [];
    const answer = get('/slow', log);
    await entered;
    void app.close().then(() => log.push('closed'));
    await closing;
    release();
    const res = await answer;
    expect(res.headers.connection, 'the client is told not to reuse it').to.equal('close');
    expect(await until(log)).to.deep.equal(['answered', 'connection ended', 'closed']);
  });

  it('a stream whose head said keep-alive, ended after the close began: its connection ends after it, and the close resolves', async () => {
    const log: string[] = [];
    const res = await get('/stream', log);
    await entered;
    expect(res.headers.connection).to.equal('keep-alive');
    void app.close().then(() => log.push('closed'));
    await closing;
    release();
    expect(await until(log)).to.deep.equal(['answered', 'connection ended', 'closed']);
  });

  // A browser's preconnect, a client pool's spare socket, the socket of a request aborted before
  // it was sent: node's close ends idle connections only, and one that never sent a request is not
  // idle to it, so the close waited for its client (the gateway's drain to SHUTDOWN_DEADLINE_MS, exit 1).
  it('a connection that sent no request: ended at close, and the close resolves', async () => {
    const log: string[] = [];
    const accepted = new Promise<void>((r) => app.server.once('connection', () => r()));
    const { port } = app.server.address() as { port: number };
    const socket = connect(port, '127.0.0.1');
    socket.on('error', () => {});
    socket.once('close', () => log.push('connection ended'));
    await accepted;
    void app.close().then(() => log.push('closed'));
    for (const end = Date.now() + 10_000; log.length < 2 && Date.now() < end; ) await new Promise((r) => setTimeout(r, 20));
    socket.destroy();
    expect(log, 'within 10 s, far below node\'s 60 s headersTimeout the close waited for').to.have.members(['connection ended', 'closed']);
  });

  // The cut is for connections that sent nothing: one whose request head is on its way (a slow
  // client, a large head split across packets) is not cut mid-request; it is answered (fastify's
  // 503 while closing, Connection: close) and then ends, and the close resolves after it.
  it('a connection whose request head is partly sent at close: not cut, answered once complete, then the close resolves', async () => {
    const log: string[] = [];
    const accepted = new Promise<Socket>((r) => app.server.once('connection', r));
    const { port } = app.server.address() as { port: number };
    const socket = connect(port, '127.0.0.1');
    let answer = '';
    socket.on('error', (err) => log.push(`error ${(err as NodeJS.ErrnoException).code}`));
    socket.on('data', (chunk) => (answer += chunk.toString()));
    socket.once('close', () => log.push('connection ended'));
    socket.write('GET /slow HTTP/1.1\r\nHost: x\r\n');
    const server = await accepted;
    for (const end = Date.now() + 10_000; server.bytesRead === 0 && Date.now() < end; ) await new Promise((r) => setTimeout(r, 5));
    expect(server.bytesRead, 'the server read the partial head').to.be.above(0);
    void app.close().then(() => log.push('closed'));
    await closing;
    socket.write('\r\n');
    for (const end = Date.now() + 10_000; log.length < 2 && Date.now() < end; ) await new Promise((r) => setTimeout(r, 20));
    socket.destroy();
    expect(answer.split('\r\n')[0], 'the completed request was answered, not cut').to.equal('HTTP/1.1 503 Service Unavailable');
    expect(answer.toLowerCase()).to.contain('connection: close');
    expect(log).to.have.members(['connection ended', 'closed']);
  });
});

describe('endConnectionsOnClose: a long-running server keeps no response its client left', function () {
  this.timeout(30_000);

  /** Collects garbage (exposed for this process only), after the pending ticks. */
  async function collect(): Promise<void> {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    for (let i = 0; i < 3; i++) {
      await new Promise((r) => setImmediate(r));
      gc();
    }
  }

  it('a pipelined request whose connection ended before its turn: its response is not held', async () => {
    // Node emits no 'close' for a response queued behind another (it has no socket yet) when the
    // client ends the connection: it must not stay in the set of responses in flight for ever.
    const app = Fastify();
    endConnectionsOnClose(app);
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let queued: WeakRef<ServerResponse> | undefined;
    let answered!: () => void;
    const fastAnswered = new Promise<void>((r) => (answered = r));
    let ended!: () => void;
    const connectionEnded = new Promise<void>((r) => (ended = r));
    app.get('/slow', async (request) => {
      request.raw.socket.once('close', () => ended());
      await held;
      return { done: true };
    });
    app.get('/fast', async (_request, reply) => {
      queued = new WeakRef(reply.raw);
      setImmediate(answered);
      return { done: true };
    });
    await app.listen({ host: '127.0.0.1', port: 0 });
    try {
      const { port } = app.server.address() as { port: number };
      const socket = connect(port, '127.0.0.1');
      socket.on('error', () => {});
      socket.write('GET /slow HTTP/1.1\r\nHost: x\r\n\r\nGET /fast HTTP/1.1\r\nHost: x\r\n\r\n');
      await fastAnswered;
      socket.destroy();
      await connectionEnded;
      // The request before it answered too: nothing of that connection is in use any more.
      // (its answer goes to a closed socket some ticks later; collected as soon as it has, or never).
      release();
      for (let i = 0; i < 50 && queued?.deref() !== undefined; i++) {
        await new Promise((r) => setTimeout(r, 20));
        await collect();
      }
      expect(queued?.deref(), 'the queued response was collected').to.equal(undefined);
    } finally {
      release();
      await app.close();
    }
  });

  it('a client pipelining many requests: one listener on its connection, not one per request', async () => {
    // Else node warns of a leak (MaxListenersExceededWarning) past ten pipelined requests.
    const app = Fastify();
    endConnectionsOnClose(app);
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const counts: number[] = [];
    let all!: () => void;
    const entered = new Promise<void>((r) => (all = r));
    app.get('/x', async (request) => {
      counts.push(request.raw.socket.listenerCount('close'));
      if (counts.length === 12) all();
      await held;
      return { done: true };
    });
    await app.listen({ host: '127.0.0.1', port: 0 });
    const { port } = app.server.address() as { port: number };
    const socket = connect(port, '127.0.0.1');
    socket.on('error', () => {});
    try {
      socket.write('GET /x HTTP/1.1\r\nHost: x\r\n\r\n'.repeat(12));
      await entered;
      // (a handler runs before endConnectionsOnClose hears of its request: the third has the second's listener)
      expect(counts[11], 'as many as for the third request').to.equal(counts[2]);
    } finally {
      release();
      socket.destroy();
      await app.close();
    }
  });
});
