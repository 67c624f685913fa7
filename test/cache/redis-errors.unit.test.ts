import { expect } from 'chai';
import { ReplyError } from 'ioredis';
import { MaxRetriesPerRequestError } from 'ioredis/built/errors';
import { UnavailableError } from '../../src/core/errors';
import { isRedisConnectionFailure, toRedisCacheError } from '../../src/cache/redis-errors';

const withCode = (message: string, code: string) => Object.assign(new Error(message), { code });

describe('Redis command errors: an outage (DEPENDENCY_UNAVAILABLE) or not', () => {
  for (const [what, err] of [
    ['reconnecting given up for the command', new MaxRetriesPerRequestError(2)],
    ['the connection closed', new Error('Connection is closed.')],
    ['no reply within the command timeout', new Error('Command timed out')],
    ['a socket reset', withCode('read ECONNRESET', 'ECONNRESET')],
    ['Redis loading its dataset after a restart', new ReplyError('LOADING Redis is loading the dataset in memory')],
    ['a replica since a failover', new ReplyError("READONLY You can't write against a read only replica.")],
    ['a replica whose primary is down', new ReplyError('MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to no.')],
    ['busy in a long script', new ReplyError('BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.')],
  ] as const) {
    it(`is an outage: ${what}`, () => expect(isRedisConnectionFailure(err)).to.equal(true));
  }

  for (const [what, err] of [
    ['a script error', new ReplyError('ERR Error running script (call to f_1): @user_script:1: ERR value is not an integer or out of range')],
    ['WRONGTYPE', new ReplyError('WRONGTYPE Operation against a key holding the wrong kind of value')],
    ['a full Redis', new ReplyError("OOM command not allowed when used memory > 'maxmemory'.")],
    ['BUSYKEY (not BUSY)', new ReplyError('BUSYKEY Target key name already exists.')],
    ['credentials refused', new ReplyError('WRONGPASS invalid username-password pair or user is disabled.')],
    ['a bug', new TypeError("Cannot read properties of undefined (reading 'x')")],
    ['not an error', 'Connection is closed.'],
  ] as const) {
    it(`is not: ${what}`, () => expect(isRedisConnectionFailure(err)).to.equal(false));
  }

  it('reports an outage as UnavailableError naming the command and why the connection is down, the client error as cause; anything else as it is', () => {
    const cause = new MaxRetriesPerRequestError(2);
    const err = toRedisCacheError(cause, 'acquireLock', withCode('connect ECONNREFUSED 127.0.0.1:6379', 'ECONNREFUSED')) as UnavailableError;
    expect(err).to.be.instanceOf(UnavailableError);
    expect(err.message).to.equal('redis: acquireLock: not connected (connect ECONNREFUSED 127.0.0.1:6379)');
    expect(err.cause).to.equal(cause);
    const script = new ReplyError('ERR Error running script');
    expect(toRedisCacheError(script, 'hit')).to.equal(script);
  });
});
