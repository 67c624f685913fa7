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

/**
 * The test broker's OAUTHBEARER server against RFC 7628's messages: the kafkajs tests see only what
 * kafkajs does with them (it reads no challenge), not that the server answers as Kafka does.
 */
describe('test Kafka broker: SASL OAUTHBEARER server (RFC 7628)', () => {
  const verifyToken = (t: string) => (t === 'good-token' ? 'gateway' : undefined);
  const exchange = (seen?: Record<string, string>[]) => saslExchange('OAUTHBEARER', {}, undefined, { verifyToken, extensionsSeen: seen });
  const initial = (token: string, ext = '') => Buffer.from(`n,,\x01auth=Bearer ${token}${ext}\x01\x01`);

  it('takes a token the validator takes, answering nothing; the extensions are kept', () => {
    const seen: Record<string, string>[] = [];
    const step = exchange(seen).step(initial('good-token', '\x01logicalCluster=lkc-1\x01identityPoolId=pool-2'));
    expect(step).to.deep.equal({ reply: Buffer.alloc(0), done: true });
    expect(seen).to.deep.equal([{ logicalCluster: 'lkc-1', identityPoolId: 'pool-2' }]);
  });

  it('another token: the JSON error as a challenge (no error yet), then SASL_AUTHENTICATION_FAILED with it once the client sends its SOH (§3.2.3)', () => {
    const x = exchange();
    const challenge = x.step(initial('expired-token'));
    expect(challenge.error).to.equal(undefined);
    expect(challenge.done).to.equal(false);
    expect(JSON.parse(challenge.reply.toString())).to.deep.equal({ status: 'invalid_token' });
    const end = x.step(Buffer.from('\x01'));
    expect(end).to.deep.equal({ reply: Buffer.alloc(0), error: '{"status":"invalid_token"}', done: true });
  });

  for (const [name, message] of [
    ['no gs2 header', '\x01auth=Bearer good-token\x01\x01'],
    ['no auth key', 'n,,\x01token=good-token\x01\x01'],
    ['a scheme other than Bearer', 'n,,\x01auth=Basic good-token\x01\x01'],
    ['no closing SOH SOH', 'n,,\x01auth=Bearer good-token'],
    ['an extension key not of letters', 'n,,\x01auth=Bearer good-token\x01bad_key=1\x01\x01'],
  ]) {
    it(`refuses a malformed initial response (${name}) at once, with Kafka's generic text`, () => {
      const step = exchange().step(Buffer.from(message));
      expect(step.error).to.match(/invalid credentials with SASL mechanism OAUTHBEARER/);
      expect(step.done).to.equal(true);
    });
  }
});
