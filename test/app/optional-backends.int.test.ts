/**
 * The embedded default (SQLite, in-process bus, no Kafka, no KurrentDB, no LLM, no embeddings, no tracing)
 * does not load the optional backends' client libraries: every `openmcp start`, and the dozens
 * the e2e tests run, would pay for them. Checked in a fresh process, since this one has loaded
 * them for other tests.
 */
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { promisify } from 'node:util';

const OPTIONAL = ['@kurrent/kurrentdb-client', 'kafkajs', 'openai', 'usearch', '@xenova/transformers', '@opentelemetry/exporter-trace-otlp-http', '@opentelemetry/sdk-trace-node'];

describe('src/main.ts: optional backends', function () {
  this.timeout(60_000);

  it('are not loaded by importing the composition root', async () => {
    const root = resolve(__dirname, '../..');
    const script = `require('tsx/cjs'); require('./src/main.ts'); console.log(JSON.stringify(Object.keys(require.cache)));`;
    const { stdout } = await promisify(execFile)(process.execPath, ['-e', script], { cwd: root });
    const loaded = JSON.parse(stdout) as string[];
    const found = OPTIONAL.filter((p) => loaded.some((file) => file.includes(`/node_modules/${p}/`)));
    expect(found).to.deep.equal([]);
  });
});
