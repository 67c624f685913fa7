import { expect } from 'chai';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { llmReadinessCheck } from '../../src/agent/llm/llm-readiness';
import { runReadinessCheck } from '../../src/telemetry/readiness-check';
import { freePort } from '../support/free-port';

describe("/readyz's llm line: the endpoint is asked, not only named", () => {
  let server: Server;
  let base: string;
  const seen: string[] = [];
  before(async () => {
    // Answers every request 404, as a server without GET /models does: it answers, so it is up.
    server = createServer((req, res) => {
      seen.push(`${req.method} ${req.url} ${req.headers.authorization ?? '-'}`);
      res.writeHead(404).end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
  });
  after(() => new Promise((r) => server.close(r)));

  it('unset: degraded, only tasks with explicit steps run', async () => {
    expect(await runReadinessCheck(llmReadinessCheck(undefined))).to.deep.equal({ state: 'degraded', detail: 'OPENAI_BASE_URL is not set: only tasks with explicit steps run' });
  });

  it('an endpoint that answers, whatever its status: up, named without credentials, asked GET <base>/models without the API key', async () => {
    const url = base.replace('http://', 'http://llm-user:s3cret@');
    const r = await runReadinessCheck(llmReadinessCheck(url));
    expect(r).to.deep.equal({ state: 'up', detail: base.replace('http://', 'http://***:***@') });
    expect(seen.at(-1)).to.equal('GET /v1/models -');
  });

  it('an endpoint nobody answers at (the README\'s Ollama URL before `ollama serve`): degraded, saying why and what it costs, not "up"', async () => {
    const closed = `http://127.0.0.1:${await freePort()}/v1`;
    const r = await runReadinessCheck(llmReadinessCheck(closed));
    expect(r.state).to.equal('degraded');
    expect(r.detail).to.equal(`cannot reach ${closed}: ECONNREFUSED; tasks with an instruction fail LLM_UNAVAILABLE until it answers (tasks with explicit steps run)`);
  });
});
