import { createHash, createHmac, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto';

export type SaslMechanism = 'PLAIN' | 'SCRAM-SHA-256' | 'SCRAM-SHA-512' | 'OAUTHBEARER';

export type SaslServerOptions = {
  /** The mechanisms SaslHandshake offers (Kafka's `sasl.enabled.mechanisms`). */
  mechanisms: SaslMechanism[];
  /** Users and their passwords (for SCRAM, as `kafka-configs --alter --add-config 'SCRAM-SHA-256=[password=…]'` stores them). */
  users: Record<string, string>;
  /**
   * OAUTHBEARER: the principal (the token's subject) of a bearer token the brokers accept, undefined
   * for one they refuse (Kafka's `sasl.oauthbearer.jwks.endpoint.url` validator: its issuer's
   * signature, not expired); the test token endpoint's `verify`.
   */
  verifyToken?: (token: string) => string | undefined;
  /** OAUTHBEARER: the SASL extensions each accepted client sent (RFC 7628 §3.1: `key=value` after the token), in order. */
  extensionsSeen?: Record<string, string>[];
};

/** One step of an exchange: the bytes to answer, an error to answer instead (the exchange fails), and whether it is complete. */
export type SaslStep = { reply: Buffer; error?: string; done: boolean };

/** The server side of one SASL exchange on one connection (after SaslHandshake chose `mechanism`). */
export type SaslExchange = { step(bytes: Buffer): SaslStep };

/** Kafka's message for credentials it refuses (SASL_AUTHENTICATION_FAILED, 58). */
const failed = (mechanism: string) => `Authentication failed during authentication due to invalid credentials with SASL mechanism ${mechanism}`;

/** Where SCRAM's server nonce and salt come from: random, unless a test gives RFC 7677's. */
export type ScramRandom = { nonce(): string; salt(): Buffer };
const random: ScramRandom = { nonce: () => randomBytes(18).toString('base64'), salt: () => randomBytes(16) };

export function saslExchange(mechanism: SaslMechanism, users: Record<string, string>, scramRandom: ScramRandom = random, o: Pick<SaslServerOptions, 'verifyToken' | 'extensionsSeen'> = {}): SaslExchange {
  if (mechanism === 'OAUTHBEARER') return oauthBearer(o.verifyToken ?? (() => undefined), o.extensionsSeen);
  return mechanism === 'PLAIN' ? plain(users) : scram(mechanism, users, scramRandom);
}

const SOH = '\x01';

/**
 * RFC 7628 (OAUTHBEARER), server side as Kafka's OAuthBearerSaslServer: the client's initial response
 * `n,[a=authzid],` SOH `auth=Bearer <token>` [SOH `key=value`]… SOH SOH. A token the validator takes:
 * answered with nothing, done. Another: answered, with no error yet, with the JSON error of §3.2.2
 * (`{"status":"invalid_token"}`), and the exchange waits for the client's SOH alone (§3.2.3), which
 * Kafka then fails with that JSON as its message (SASL_AUTHENTICATION_FAILED). A malformed message:
 * failed at once, with Kafka's generic text.
 */
function oauthBearer(verify: (token: string) => string | undefined, seen?: Record<string, string>[]): SaslExchange {
  let refusal: string | undefined;
  return {
    step(bytes) {
      const message = bytes.toString('utf8');
      if (refusal) return { reply: Buffer.alloc(0), error: message === SOH ? refusal : failed('OAUTHBEARER'), done: true };
      const parts = message.match(/^n,(?:a=[^,]*)?,\x01(.*)\x01\x01$/s)?.[1]?.split(SOH);
      const pairs = parts?.map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)] as const);
      const auth = pairs?.find(([k]) => k === 'auth')?.[1].match(/^Bearer ([\x21-\x7e]+)$/)?.[1];
      if (!pairs || !auth || pairs.some(([k]) => !/^[A-Za-z]+$/.test(k))) return { reply: Buffer.alloc(0), error: failed('OAUTHBEARER'), done: true };
      if (!verify(auth)) {
        refusal = JSON.stringify({ status: 'invalid_token' });
        return { reply: Buffer.from(refusal), done: false };
      }
      seen?.push(Object.fromEntries(pairs.filter(([k]) => k !== 'auth')));
      return { reply: Buffer.alloc(0), done: true };
    },
  };
}

/** RFC 4616: `authzid \0 authcid \0 password`, answered with nothing. */
function plain(users: Record<string, string>): SaslExchange {
  return {
    step(bytes) {
      const [, user, password] = bytes.toString('utf8').split('\0');
      const known = Object.hasOwn(users, user) && users[user] === password;
      return { reply: Buffer.alloc(0), error: known ? undefined : failed('PLAIN'), done: true };
    },
  };
}

const attributes = (message: string) => new Map(message.split(',').map((kv) => [kv[0], kv.slice(2)] as const));
const unescapeName = (name: string) => name.replace(/=2C/g, ',').replace(/=3D/g, '=');
const xor = (a: Buffer, b: Buffer) => Buffer.from(a.map((x, i) => x ^ b[i]));

/**
 * RFC 5802 (SCRAM-SHA-256 by RFC 7677, SCRAM-SHA-512 as Kafka offers it), server side: the client's
 * first message, the server's (its nonce, salt, 4096 iterations: kafkajs's minimum), the client's
 * proof checked against the stored key (with the nonce and the channel binding `c=` the client
 * must send back), and the server's signature.
 */
function scram(mechanism: 'SCRAM-SHA-256' | 'SCRAM-SHA-512', users: Record<string, string>, rnd: ScramRandom): SaslExchange {
  const hash = mechanism === 'SCRAM-SHA-256' ? 'sha256' : 'sha512';
  const length = hash === 'sha256' ? 32 : 64;
  const hmac = (key: Buffer, text: string) => createHmac(hash, key).update(text).digest();
  let first: { gs2: string; bare: string; server: string; nonce: string; salted: Buffer } | undefined;
  let user = '';
  return {
    step(bytes) {
      const message = bytes.toString('utf8');
      if (!first) {
        // gs2 header (`n,,`: no channel binding, no authzid), then the bare message.
        const gs2 = message.match(/^[nyp][^,]*,[^,]*,/)?.[0] ?? '';
        const bare = message.slice(gs2.length);
        const a = attributes(bare);
        user = unescapeName(a.get('n') ?? '');
        const nonce = `${a.get('r') ?? ''}${rnd.nonce()}`;
        // An unknown user gets a made-up salt, and fails at the proof (Kafka says no more either).
        const salt = rnd.salt();
        const server = `r=${nonce},s=${salt.toString('base64')},i=4096`;
        const password = Object.hasOwn(users, user) ? users[user] : randomBytes(16).toString('hex');
        first = { gs2, bare, server, nonce, salted: pbkdf2Sync(password, salt, 4096, length, hash) };
        return { reply: Buffer.from(server), done: false };
      }
      const a = attributes(message);
      const withoutProof = message.replace(/,p=[^,]*$/, '');
      const auth = `${first.bare},${first.server},${withoutProof}`;
      const clientKey = hmac(first.salted, 'Client Key');
      const storedKey = createHash(hash).update(clientKey).digest();
      const proof = Buffer.from(a.get('p') ?? '', 'base64');
      const claimed = proof.length === length ? createHash(hash).update(xor(proof, hmac(storedKey, auth))).digest() : Buffer.alloc(length);
      // c= is the gs2 header sent first, in base64 (RFC 5802, 5.1): `biws` for kafkajs's `n,,`.
      const channel = a.get('c') === Buffer.from(first.gs2).toString('base64');
      if (!first.gs2 || !channel || a.get('r') !== first.nonce || !Object.hasOwn(users, user) || !timingSafeEqual(claimed, storedKey)) {
        return { reply: Buffer.alloc(0), error: failed(mechanism), done: true };
      }
      const signature = hmac(hmac(first.salted, 'Server Key'), auth).toString('base64');
      return { reply: Buffer.from(`v=${signature}`), done: true };
    },
  };
}
