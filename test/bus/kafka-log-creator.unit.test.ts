import { expect } from 'chai';
import { logLevel } from 'kafkajs';
import { Writable } from 'node:stream';
import { createLogger } from '../../src/api/logger';
import { kafkaLogCreator } from '../../src/bus/kafka/log-creator';

describe('kafkaLogCreator: kafkajs lines through the process logger', () => {
  function capture(level: string) {
    const lines: Record<string, unknown>[] = [];
    const sink = new Writable({ write: (chunk, _enc, cb) => (lines.push(JSON.parse(String(chunk))), cb()) });
    return { lines, log: kafkaLogCreator(createLogger(level, sink))(logLevel.DEBUG) };
  }

  it("writes each line as the logger's JSON, at kafkajs's level, with its namespace and fields (its own timestamp and logger name left to pino)", () => {
    const { lines, log } = capture('info');
    log({ namespace: 'Connection', level: logLevel.ERROR, label: 'ERROR', log: { timestamp: '2026-12-06T00:00:00.000Z', logger: 'kafkajs', message: 'Connection error: connect ECONNREFUSED', broker: '127.0.0.1:1' } });
    log({ namespace: 'Runner', level: logLevel.WARN, label: 'WARN', log: { timestamp: 't', logger: 'kafkajs', message: 'The group is rebalancing, re-joining' } });
    expect(lines).to.have.length(2);
    expect(lines[0]).to.include({ level: 50, component: 'kafkajs', namespace: 'Connection', broker: '127.0.0.1:1', msg: 'Connection error: connect ECONNREFUSED' });
    expect(lines[0]).to.not.have.property('timestamp');
    expect(lines[1]).to.include({ level: 40, namespace: 'Runner', msg: 'The group is rebalancing, re-joining' });
  });

  it('leaves out what LOG_LEVEL leaves out', () => {
    const { lines, log } = capture('error');
    log({ namespace: 'Runner', level: logLevel.WARN, label: 'WARN', log: { timestamp: 't', logger: 'kafkajs', message: 'rejoin' } });
    log({ namespace: 'Connection', level: logLevel.INFO, label: 'INFO', log: { timestamp: 't', logger: 'kafkajs', message: 'connected' } });
    expect(lines).to.deep.equal([]);
  });
});
