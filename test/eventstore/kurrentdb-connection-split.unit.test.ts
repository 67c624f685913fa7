import { expect } from 'chai';
import fc from 'fast-check';
import { parseConnectionString } from '@kurrent/kurrentdb-client/dist/Client/parseConnectionString';
import { kurrentConnectionStringProblem, splitConnectionString } from '../../src/eventstore/kurrentdb/connection-string';

/** The client's parse, its console warnings (which quote the string) kept out of the test's output. */
function parsed(url: string): unknown {
  const warn = console.warn;
  console.warn = () => {};
  try {
    return parseConnectionString(url);
  } catch (err) {
    return { refused: (err as { expected?: string }).expected, at: (err as { location?: unknown }).location };
  } finally {
    console.warn = warn;
  }
}

describe('KURRENTDB_URL split into the connection string the client is made with and its credentials', () => {
  it('the rest parses as the whole did, the credentials as the client decodes them', () => {
    const userPart = fc.string({ minLength: 1, maxLength: 12, unit: fc.constantFrom('a', 'B', '7', '-', '.', '%2F', '%40', '%3A', ' ', '!') });
    const hosts = fc.constantFrom('db:2113', 'n1:2113,n2:2113', 'n1:port', 'db', '');
    const query = fc.constantFrom('', '?tls=false', '/?tls=false&nodePreference=leader', '?tls=maybe', '/');
    const scheme = fc.constantFrom('kurrentdb://', 'kurrentdb+discover://', 'esdb://', 'http://', 'kurrentdb:/');
    fc.assert(
      fc.property(scheme, fc.option(fc.tuple(userPart, userPart)), hosts, query, (s, user, h, q) => {
        const url = `${s}${user ? `${user[0]}:${user[1]}@` : ''}${h}${q}`;
        const whole = parsed(url) as { defaultCredentials?: unknown; refused?: unknown; at?: unknown };
        const split = splitConnectionString(url);
        if (user) expect(split.masked).not.to.contain(`:${user[1]}@`);
        expect(split.masked.length).to.equal(url.trim().replace(/\/+$/, '').length);
        if ('refused' in whole) {
          // Refused at config (kurrentConnectionStringProblem): the client is never made with it.
          expect(parsed(split.masked)).to.deep.equal(whole);
        } else {
          const { defaultCredentials, ...others } = whole;
          expect(parsed(split.url)).to.deep.equal(others);
          expect(split.credentials).to.deep.equal(defaultCredentials);
          expect(split.url).not.to.contain('@');
        }
      }),
    );
  });

  it('a refusal names the position in the string as written, credentials included', () => {
    const plain = kurrentConnectionStringProblem('kurrentdb://node1:port');
    const withCredentials = kurrentConnectionStringProblem('kurrentdb://ops:pw@node1:port');
    const at = (m: string | undefined) => Number(/at position (\d+)/.exec(m ?? '')?.[1]);
    expect(at(withCredentials) - at(plain)).to.equal('ops:pw@'.length);
    expect(kurrentConnectionStringProblem('kurrentdb://ops:pw@')).to.match(/the client expected host$/);
    expect(kurrentConnectionStringProblem('http://ops:pw@node1:2113')).to.match(/^at position 0 /);
  });
});
