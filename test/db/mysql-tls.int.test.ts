/**
 * DATABASE_URL's `?ssl=…` is read (src/db/mysql-url.ts), not ignored: a URL that asks for TLS never
 * gets a connection in clear. Against the test server as it is: one without TLS refuses the
 * handshake (named as DATABASE_URL's), one with TLS answers with a cipher. Was: `?ssl=true` ignored
 * without a word (the connection in clear), then, on h/ops-truth, refused at start with no way to
 * have TLS at all.
 */
import { expect } from 'chai';
import type { Knex } from 'knex';
import { openKnex } from '../../src/db/knex';
import { readMysqlUrl } from '../../src/db/mysql-url';
import { MYSQL_BASE_URL, mysqlAvailable, requireService } from '../support/services';

describe('DATABASE_URL ?ssl: TLS to MySQL/MariaDB', function () {
  before(async function () {
    await requireService(this, 'MariaDB', mysqlAvailable);
  });

  /** The test server by name: ssl=true checks the certificate's name, which the driver cannot for an IP address. */
  const url = (query: string) => {
    const u = new URL(MYSQL_BASE_URL);
    if (u.hostname === '127.0.0.1') u.hostname = 'localhost';
    return `${u.toString().replace(/\/$/, '')}/mysql${query}`;
  };

  /** The session's cipher ('' in clear), or the error the connection failed with. */
  async function cipherOf(query: string): Promise<string | Error> {
    let k: Knex | undefined;
    try {
      k = await openKnex(url(query));
      const [rows] = (await k.raw("SHOW SESSION STATUS LIKE 'Ssl_cipher'")) as [{ Value: string }[]];
      return rows[0]?.Value ?? '';
    } catch (err) {
      return err as Error;
    } finally {
      await k?.destroy();
    }
  }

  for (const query of ['?ssl=true', '?ssl={"rejectUnauthorized":false}']) {
    it(`${query}: TLS or no connection, never one in clear`, async () => {
      const got = await cipherOf(query);
      if (got instanceof Error) {
        // A server without TLS (HANDSHAKE_NO_SSL_SUPPORT), or one whose certificate is not trusted (HANDSHAKE_SSL_ERROR).
        expect(got).to.have.property('code', 'DEPENDENCY_UNAVAILABLE');
        expect(got.message).to.match(/\(DATABASE_URL\): HANDSHAKE_/);
      } else {
        expect(got, 'a cipher').to.not.equal('');
      }
    });
  }

  it('?ssl=false, or no option: as before (no TLS asked for)', async () => {
    for (const query of ['', '?ssl=false']) {
      const got = await cipherOf(query);
      if (got instanceof Error) throw got;
    }
  });

  it('reads what the check reads: ssl=true verifies the certificate and its name; a relaxed one says what', () => {
    expect(readMysqlUrl('mysql://u:p@db/x?ssl=true')).to.deep.include({ ssl: { rejectUnauthorized: true, verifyIdentity: true } });
    expect(readMysqlUrl('mysql://u:p@db/x?ssl={"verifyIdentity":false}')).to.deep.include({ ssl: { rejectUnauthorized: true, verifyIdentity: false } });
    expect(readMysqlUrl('mysql://u:p@db/x?ssl={"rejectUnauthorized":false}')).to.deep.include({ ssl: { rejectUnauthorized: false, verifyIdentity: false } });
    expect(readMysqlUrl('mysql://u:p@db/x?ssl=false')).to.not.have.property('ssl');
    expect(readMysqlUrl('mysql://u:p@[::1]/x?ssl=true')).to.have.property('problem').that.match(/IP address/);
    expect(readMysqlUrl('mysql://u:p@[::1]/x?ssl={"verifyIdentity":false}')).to.deep.include({ ssl: { rejectUnauthorized: true, verifyIdentity: false } });
    expect(readMysqlUrl('mariadb://u:p%2Fq@db:3307/x')).to.deep.equal({ host: 'db', port: 3307, user: 'u', password: 'p/q', database: 'x' });
    // An IPv6 address as the driver takes it (was: `[::1]`, a name that never resolves).
    expect(readMysqlUrl('mysql://u@[::1]/x')).to.deep.include({ host: '::1', port: 3306 });
  });
});
