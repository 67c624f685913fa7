import { expect } from 'chai';
import { Registry } from 'prom-client';
import { UnavailableError } from '../../src/core/errors';
import type { EventStore } from '../../src/eventstore/port';
import { createMetrics } from '../../src/metrics/metrics';
import { instrumentEventStore } from '../../src/metrics/instrument-store';

describe('instrumentEventStore: failed appends counted by code', () => {
  const failing = (reason: unknown): EventStore => ({ name: 'fake', append: () => Promise.reject(reason) }) as unknown as EventStore;
  const count = async (reason: unknown) => {
    const metrics = createMetrics({ registry: new Registry() });
    let thrown: unknown = 'nothing';
    await instrumentEventStore(failing(reason), metrics).append('s', []).catch((e: unknown) => (thrown = e));
    return { thrown, values: (await metrics.errors.get()).values.map((v) => [v.labels.code, v.value]) };
  };

  it('counts a string code as is, anything else as INTERNAL, and rethrows what the store threw', async () => {
    const unavailable = new UnavailableError('database', 'down');
    expect(await count(unavailable)).to.deep.equal({ thrown: unavailable, values: [['DEPENDENCY_UNAVAILABLE', 1]] });
    // A gRPC client's numeric status is not one of our codes.
    const grpc = Object.assign(new Error('14 UNAVAILABLE'), { code: 14 });
    expect(await count(grpc)).to.deep.equal({ thrown: grpc, values: [['INTERNAL', 1]] });
    // A rejection without a value is passed on, not replaced by a TypeError from reading its code.
    expect(await count(undefined)).to.deep.equal({ thrown: undefined, values: [['INTERNAL', 1]] });
  });

  it("counts a driver's outage error (ECONNREFUSED, a lost connection, SQLite busy) as DEPENDENCY_UNAVAILABLE, the catalogue code an outage has; other driver codes as they are", async () => {
    for (const code of ['ECONNREFUSED', 'PROTOCOL_CONNECTION_LOST', 'SQLITE_BUSY']) {
      const raw = Object.assign(new Error(`connect ${code}`), { code });
      expect(await count(raw), code).to.deep.equal({ thrown: raw, values: [['DEPENDENCY_UNAVAILABLE', 1]] });
    }
    const constraint = Object.assign(new Error('Duplicate entry'), { code: 'ER_DUP_ENTRY' });
    expect(await count(constraint)).to.deep.equal({ thrown: constraint, values: [['ER_DUP_ENTRY', 1]] });
  });
});
