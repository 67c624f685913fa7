import { expect } from 'chai';
import { loadOptional } from '../../src/core/load-optional';

describe('loadOptional', () => {
  it('returns the module the thunk loads', () => {
    expect(loadOptional('KAFKA_BROKERS', () => require('node:path') as typeof import('node:path')).join('a', 'b')).to.equal('a/b');
  });

  it('turns a missing module into CONFIG_INVALID naming the setting', () => {
    let err: unknown;
    try {
      loadOptional('KURRENTDB_URL', () => require('surely-not-installed-openmcp-backend'));
    } catch (e) {
      err = e;
    }
    expect(err).to.have.property('code', 'CONFIG_INVALID');
    expect(err).to.have.nested.property('details.variable', 'KURRENTDB_URL');
    expect((err as Error).message).to.match(/^KURRENTDB_URL .*surely-not-installed-openmcp-backend/);
  });
});
