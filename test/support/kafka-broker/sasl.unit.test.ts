import { expect } from 'chai';
import { createHash, createHmac, pbkdf2Sync } from 'node:crypto';
import { saslExchange } from './sasl';

/**
 * The test broker's SCRAM server against RFC 7677's example exchange (SCRAM-SHA-256), and against a
 * client that breaks one rule at a time: the kafkajs tests prove only that kafkajs's real client
 * gets in, not that a wrong one is kept out.
 */
describe('test Kafka broker: SASL SCRAM server (RFC 5802, RFC 7677)', () => {
  // RFC 7677, section 3: user "user", password "pencil".
  const rfc = {
    clientFirst: 'n,,n=user,r=rOprNGfwEbeRWgbNEkqO',
    serverFirst: 'r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096',
    clientFinal: 'c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=',
    serverFinal: 'v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=',
  };
  const rfcRandom = { nonce: () => '%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0', salt: () => Buffer.from('W22ZaJ0SNY7soEsUEjb6gQ==', 'base64') };
  const exchange = () => saslExchange('SCRAM-SHA-256', { user: 'pencil' }, rfcRandom);

  /** A client's final message for `serverFirst`, proving `password`, with `r` and `c` as given (the right ones by default). */
  function clientFinal(serverFirst: string, password: string, o: { nonce?: string; channel?: string; user?: string } = {}): string {
    const a = new Map(serverFirst.split(',').map((kv) => [kv[0], kv.slice(2)] as const));
    const salted = pbkdf2Sync(password, Buffer.from(a.get('s')!, 'base64'), Number(a.get('i')), 32, 'sha256');
    const clientKey = createHmac('sha256', salted).update('Client Key').digest();
    const withoutProof = `c=${o.channel ?? 'biws'},r=${o.nonce ?? a.get('r')}`;
    const auth = `n=${o.user ?? 'user'},r=rOprNGfwEbeRWgbNEkqO,${serverFirst},${withoutProof}`;
    const signature = createHmac('sha256', createHash('sha256').update(clientKey).digest()).update(auth).digest();
    return `${withoutProof},p=${Buffer.from(clientKey.map((x, i) => x ^ signature[i])).toString('base64')}`;
  }

  it("answers RFC 7677's example exchange as the RFC does, byte for byte", () => {
    const x = exchange();
    const first = x.step(Buffer.from(rfc.clientFirst));
    expect(first.reply.toString()).to.equal(rfc.serverFirst);
    expect(first.done).to.equal(false);
    const final = x.step(Buffer.from(rfc.clientFinal));
    expect(final.error).to.equal(undefined);
    expect(final.reply.toString()).to.equal(rfc.serverFinal);
    expect(final.done).to.equal(true);
  });

  const refusals: [string, (serverFirst: string) => string, string][] = [
    ['a wrong password', (sf) => clientFinal(sf, 'not-pencil'), 'user'],
    ['an unknown user proving a password', (sf) => clientFinal(sf, 'pencil', { user: 'nobody' }), 'nobody'],
    // The proof is right for what it signs, but it signs the client's nonce alone (a replay of another exchange's).
    ['a final message without the server nonce', (sf) => clientFinal(sf, 'pencil', { nonce: 'rOprNGfwEbeRWgbNEkqO' }), 'user'],
    // c= must be the base64 of the gs2 header sent first (`n,,`: biws), RFC 5802 section 5.1.
    ['channel binding data other than the gs2 header sent', (sf) => clientFinal(sf, 'pencil', { channel: Buffer.from('y,,').toString('base64') }), 'user'],
    ['a proof of another length', (sf) => clientFinal(sf, 'pencil').replace(/p=.*$/, 'p=AAAA'), 'user'],
  ];
  for (const [name, final, user] of refusals) {
    it(`refuses ${name} (SASL_AUTHENTICATION_FAILED), with no server signature`, () => {
      const x = exchange();
      const serverFirst = x.step(Buffer.from(rfc.clientFirst.replace('n=user', `n=${user}`))).reply.toString();
      // This client, keeping every rule, writes RFC 7677's final message: each case breaks one rule only.
      expect(clientFinal(serverFirst, 'pencil')).to.equal(rfc.clientFinal);
      const answer = x.step(Buffer.from(final(serverFirst)));
      expect(answer.error).to.match(/invalid credentials with SASL mechanism SCRAM-SHA-256/);
      expect(answer.reply.length).to.equal(0);
      expect(answer.done).to.equal(true);
    });
  }
});
