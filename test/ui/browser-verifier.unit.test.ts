import { expect } from 'chai';
import fc from 'fast-check';
import eventHashVectors from '../vectors/event-hash.json';
import merkleVectors from '../vectors/merkle.json';
import batchHeadVectors from '../vectors/batch-head.json';
import { computeEventHash as serverEventHash } from '../../src/core/envelope';
import { canonicalJson as serverCanonicalJson } from '../../src/core/canonical';
import { buildTree, leafHash as serverLeafHash } from '../../src/proofs/merkle';
import { signBatchHead } from '../../src/proofs/batch-head';
import { verifyProofFile } from '../../src/proofs/verify-proof';
import { isUuid } from '../../src/core/ids';
import { duplicateJsonKey as serverDuplicateJsonKey } from '../../src/core/json-duplicate-key';
import type { Hex } from '../../src/core/hex';

// The browser modules are plain ES modules (ui/package.json: type module); Node 20 has WebCrypto,
// so the very files the dashboard serves run here against the shared vectors and the server code.
type Check = { name: string; ok: boolean; detail: string };
type VerifierModules = {
  jcs: { canonicalJson(v: unknown): string };
  eventHash: { computeEventHash(e: unknown): Promise<string> };
  hex: { toHex(b: Uint8Array): string; fromHex(h: string, n?: number): Uint8Array };
  merkle: {
    leafHash(seq: number, h: string): Promise<Uint8Array>;
    rootFromInclusionProof(i: number, n: number, leaf: Uint8Array, path: Uint8Array[]): Promise<Uint8Array>;
  };
  signature: { recoverBatchHeadSigner(head: unknown, sig: string): Promise<string | undefined> };
  verify: { verifyProofInBrowser(p: unknown, o: { rpcUrl: string; event?: string; fetch?: typeof fetch }): Promise<Check[]>; PROOF_CHECKS: string[]; isEventId(id: unknown): boolean };
  twice: { duplicateJsonKey(text: string): unknown; proofFileProblem(text: string, name: string): string | undefined };
};

const load = (p: string) => import(`../../ui/app/verify/${p}.js`);

const SEALER_KEY: Hex = '0x4c4c4c4c4c4c4c4c4c4c4c4c4c4c4c4c4c4c4c4c4c4c4c4c4c4c4c4c4c4c4c4c';
const UNREACHABLE_RPC = 'http://127.0.0.1:9/';
const PROOF_CHECKS_AFTER_FORMAT = ['event hash', 'leaf', 'root from path', 'batch signature'];

/** A valid proof file for the 2nd of 3 events, built with the server's own tree and signer. */
function makeProof(): Record<string, any> {
  const events = eventHashVectors.cases.slice(0, 3).map((c, i) => ({ ...c.event, revision: 0, position: 40 + i, hash: c.hash }));
  const firstSeq = 40;
  const tree = buildTree(events.map((e, i) => serverLeafHash(firstSeq + i, e.hash as Hex)));
  const root = `0x${tree.root.toString('hex')}` as Hex;
  const head = { batchId: 3, firstSeq, lastSeq: firstSeq + 2, root, prevRoot: `0x${'11'.repeat(32)}` as Hex };
  const signature = signBatchHead(head, SEALER_KEY);
  return {
    format: 'openmcp-proof/1',
    event: events[1],
    seq: firstSeq + 1,
    batch: { id: 3, firstSeq, lastSeq: firstSeq + 2, root, prevRoot: head.prevRoot, signer: batchHeadVectors.signer.toLowerCase(), signature },
    index: 1,
    treeSize: 3,
    path: tree.inclusionProof(1).map((b) => `0x${b.toString('hex')}`),
    anchor: { chainId: 31337, contract: `0x${'ab'.repeat(20)}`, txHash: `0x${'cd'.repeat(32)}`, blockNumber: 9 },
  };
}

const SECP256K1_N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
const recoveryId = (sig: string) => parseInt(sig.slice(130, 132), 16) - 27;
/** The signature with its last byte set to `base` + recovery id. */
const withV = (sig: string, base: number) => `${sig.slice(0, 130)}${(base + recoveryId(sig)).toString(16).padStart(2, '0')}`;
/** EIP-2098: r ‖ (recovery id << 255 | s). */
const compact = (sig: string) => `${sig.slice(0, 66)}${((BigInt(`0x${sig.slice(66, 130)}`) | (BigInt(recoveryId(sig)) << 255n)).toString(16).padStart(64, '0'))}`;
/** The malleable twin: s → n − s with the other recovery id recovers the same key. */
const highS = (sig: string) => `${sig.slice(0, 66)}${(SECP256K1_N - BigInt(`0x${sig.slice(66, 130)}`)).toString(16).padStart(64, '0')}${recoveryId(sig) ? '1b' : '1c'}`;

describe('in-browser proof verifier (ui/app/verify)', () => {
  let m: VerifierModules;

  before(async () => {
    m = {
      jcs: await load('jcs'),
      eventHash: await load('event-hash'),
      hex: await load('hex'),
      merkle: await load('merkle'),
      signature: await load('batch-signature'),
      verify: await load('verify-proof'),
      twice: await load('json-duplicate-key'),
    };
  });

  it('reproduces every event-hash vector (canonical text and hash)', async () => {
    for (const c of eventHashVectors.cases) {
      const { id, type, version, stream, occurredAt, tenant, actor, correlationId, causationId, data } = c.event as Record<string, unknown>;
      expect(m.jcs.canonicalJson(Object.fromEntries(Object.entries({ id, type, version, stream, occurredAt, tenant, actor, correlationId, causationId, data }).filter(([, v]) => v !== undefined)))).to.equal(c.canonical);
      expect(await m.eventHash.computeEventHash({ ...c.event, revision: 5, position: 9, hash: '0x00' })).to.equal(c.hash);
    }
  });

  it('canonicalizes like the server for arbitrary JSON of strings, safe integers, booleans and null', async () => {
    const json = fc.jsonValue().filter((v) => JSON.stringify(v).match(/\d\.\d|e[+-]?\d/i) === null && !Object.is(v, -0));
    fc.assert(
      fc.property(json, (v) => {
        let server: string | undefined;
        try {
          server = serverCanonicalJson(v);
        } catch {
          return; // floats and -0 are refused by both sides; covered below
        }
        expect(m.jcs.canonicalJson(v)).to.equal(server);
      }),
      { numRuns: 300 },
    );
    expect(() => m.jcs.canonicalJson({ a: 1.5 })).to.throw(/safe integers/);
  });

  it('reproduces every Merkle vector: leaves, and the root from every path', async () => {
    for (const t of merkleVectors.trees) {
      for (let i = 0; i < t.treeSize; i++) expect(m.hex.toHex(await m.merkle.leafHash(t.firstSeq + i, t.eventHashes[i]))).to.equal(t.leafHashes[i]);
      for (const p of t.proofs) {
        const root = await m.merkle.rootFromInclusionProof(p.index, t.treeSize, m.hex.fromHex(t.leafHashes[p.index]), p.path.map((x) => m.hex.fromHex(x)));
        expect(m.hex.toHex(root), `tree ${t.treeSize} index ${p.index}`).to.equal(t.root);
      }
    }
  });

  it('refuses a path of the wrong length instead of returning some root', async () => {
    const t = merkleVectors.trees.find((x) => x.treeSize === 5)!;
    const p = t.proofs[0];
    const leaf = m.hex.fromHex(t.leafHashes[0]);
    const path = p.path.map((x) => m.hex.fromHex(x));
    await m.merkle.rootFromInclusionProof(0, 5, leaf, path.slice(0, -1)).then(() => expect.fail('accepted a short path'), (e: Error) => expect(e.message).to.match(/shorter/));
    await m.merkle.rootFromInclusionProof(0, 5, leaf, [...path, path[0]]).then(() => expect.fail('accepted a long path'), (e: Error) => expect(e.message).to.match(/longer/));
  });

  it('recovers the batch-head vector signer offline with secp256k1 + keccak', async () => {
    expect(await m.signature.recoverBatchHeadSigner(batchHeadVectors.head, batchHeadVectors.signature)).to.equal(batchHeadVectors.signer.toLowerCase());
    expect(await m.signature.recoverBatchHeadSigner({ ...batchHeadVectors.head, lastSeq: 13 }, batchHeadVectors.signature)).to.not.equal(batchHeadVectors.signer.toLowerCase());
    expect(await m.signature.recoverBatchHeadSigner(batchHeadVectors.head, '0x1234')).to.equal(undefined);
  });

  it('passes the offline checks of a good proof, and names the on-chain failure when the RPC is unreachable', async () => {
    const results = await m.verify.verifyProofInBrowser(makeProof(), { rpcUrl: UNREACHABLE_RPC });
    expect(results.map((r) => r.name)).to.deep.equal(m.verify.PROOF_CHECKS);
    expect(results.slice(0, 5).map((r) => [r.name, r.ok])).to.deep.equal(m.verify.PROOF_CHECKS.slice(0, 5).map((n) => [n, true]));
    expect(results[5]).to.include({ name: 'on-chain root', ok: false });
    expect(results[5].detail).to.contain(UNREACHABLE_RPC);
  });

  // An auditor proving event X was shown only "✔ proof format: openmcp-proof/1" and the hash: a proof of
  // another event of the operator's choosing passed as well, with nothing on screen naming the event proven.
  it('names the event a file proves (id, type, stream, tenant) in "proof format", as the server does', async () => {
    const proof = makeProof();
    const e = proof.event;
    const said = `openmcp-proof/1, event ${e.id} (${e.type}) of stream ${e.stream}, tenant ${e.tenant}`;
    const server = await verifyProofFile(proof, { rpcUrl: UNREACHABLE_RPC });
    expect(server[0]).to.deep.equal({ name: 'proof format', ok: true, detail: said });
    expect((await m.verify.verifyProofInBrowser(proof, { rpcUrl: UNREACHABLE_RPC }))[0]).to.deep.equal(server[0]);
  });

  // `openmcp verify --event <id>` failed a proof of another event; the browser had no way to ask, so an
  // auditor proving event X passed a proof of Y unless they read the id off the first line.
  it('fails "proof format" on a proof of another event than the one asked for, in the words of `openmcp verify --event`', async () => {
    const proof = makeProof();
    const proven: string = proof.event.id;
    const other = eventHashVectors.cases.map((c) => c.event.id).find((id) => id !== proven)!;
    const server = await verifyProofFile(proof, { rpcUrl: UNREACHABLE_RPC, event: other });
    expect(server[0]).to.include({ name: 'proof format', ok: false });
    expect(server[0].detail).to.match(new RegExp(`: not event ${other}, the one asked for$`));
    const mine = await m.verify.verifyProofInBrowser(proof, { rpcUrl: UNREACHABLE_RPC, event: other });
    expect(mine[0]).to.deep.equal(server[0]);
    // The other checks still run, on what the file says.
    expect(mine.slice(1, 5).map((r) => [r.name, r.ok])).to.deep.equal(PROOF_CHECKS_AFTER_FORMAT.map((n) => [n, true]));
  });

  it('agrees with `openmcp verify --event` on any id asked for, in any letter case (the proven one passes as without it)', async () => {
    const proof = makeProof();
    const proven: string = proof.event.id;
    const flipCase = (id: string, mask: boolean[]) => [...id].map((ch, i) => (mask[i % mask.length] ? ch.toUpperCase() : ch.toLowerCase())).join('');
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.constant(proven), fc.uuid()), fc.array(fc.boolean(), { minLength: 1, maxLength: 36 }), async (id, mask) => {
        const asked = flipCase(id, mask);
        const server = await verifyProofFile(proof, { rpcUrl: UNREACHABLE_RPC, event: asked });
        const mine = await m.verify.verifyProofInBrowser(proof, { rpcUrl: UNREACHABLE_RPC, event: asked });
        expect(mine[0], asked).to.deep.equal(server[0]);
        expect(mine[0].ok, asked).to.equal(asked.toLowerCase() === proven.toLowerCase());
      }),
      { numRuns: 100 },
    );
  });

  // The page took any 36 hex digits and dashes in 8-4-4-4-12 (a version 0 or 9, a variant 0..7) that
  // `openmcp verify --event` refuses with exit 2: the page ran the checks on an id the CLI calls no event id.
  it('takes as an event id exactly what `openmcp verify --event` takes (isUuid), in any letter case', () => {
    const hex = (n: number) => fc.stringMatching(new RegExp(`^[0-9a-fA-F]{${n}}$`));
    const shaped = fc.tuple(hex(8), hex(4), hex(4), hex(4), hex(12)).map((p) => p.join('-'));
    const near = fc.oneof(fc.uuid(), shaped, fc.constantFrom('00000000-0000-0000-0000-000000000000', 'FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF', '01937a6e-7f00-0000-0000-000000000001', '01937a6e-7f00-7000-c000-000000000001', '01937a6e-7f00-9000-8000-000000000001'));
    const any = fc.oneof(near, near.map((id) => ` ${id}`), near.map((id) => `${id}\n`), near.map((id) => id.replaceAll('-', '')), fc.string());
    fc.assert(fc.property(any, (id) => void expect(m.verify.isEventId(id), JSON.stringify(id)).to.equal(isUuid(id))), { numRuns: 2000 });
    for (const refused of ['01937a6e-7f00-0000-0000-000000000001', '01937a6e-7f00-7000-c000-000000000001', 'task-1', '']) expect(m.verify.isEventId(refused), refused).to.equal(false);
    expect(m.verify.isEventId('01937A6E-7F00-7000-8000-000000000001')).to.equal(true);
  });

  // The envelope's tenant is any text (DESIGN.md): one that reads as more of the line named another event than the one proven.
  it('quotes a tenant that is not a plain name, so it cannot read as more of the line, as the server does', async () => {
    const proof = makeProof();
    proof.event.tenant = 'acme, and event 0193aaaa-0000-7000-8000-000000000000 (TaskCompleted)';
    const server = await verifyProofFile(proof, { rpcUrl: UNREACHABLE_RPC });
    expect(server[0].detail).to.match(/, tenant "acme, and event 0193aaaa-0000-7000-8000-000000000000 \(TaskCompleted\)"$/);
    expect((await m.verify.verifyProofInBrowser(proof, { rpcUrl: UNREACHABLE_RPC }))[0]).to.deep.equal(server[0]);
    proof.event.tenant = 'acme-eu.2';
    expect((await verifyProofFile(proof, { rpcUrl: UNREACHABLE_RPC }))[0].detail).to.match(/, tenant acme-eu\.2$/);
  });

  const tamperings: [string, (p: Record<string, any>) => void, string][] = [
    ['a changed payload', (p) => (p.event.data = { ...p.event.data, extra: 'x' }), 'event hash'],
    ['a changed stored hash', (p) => (p.event.hash = `0x${'0'.repeat(63)}1`), 'event hash'],
    ['a wrong seq', (p) => (p.seq += 1), 'leaf'],
    ['a swapped path node', (p) => (p.path[0] = p.batch.root), 'root from path'],
    ['a forged root', (p) => (p.batch.root = `0x${'22'.repeat(32)}`), 'root from path'],
    ['another signer named', (p) => (p.batch.signer = `0x${'99'.repeat(20)}`), 'batch signature'],
    ['a wrong format', (p) => (p.format = 'openmcp-proof/0'), 'proof format'],
    // Each of these once had the two verifiers disagree (the server threw, or the browser passed).
    ['a float in the payload', (p) => (p.event.data = { ...p.event.data, amount: 1.5 }), 'event hash'],
    ['an unhashed field added to the envelope', (p) => (p.event.approvedBy = 'the CEO'), 'proof format'],
    ['an envelope without its version', (p) => delete p.event.version, 'proof format'],
    ['an actor with an extra field', (p) => (p.event.actor = { ...p.event.actor, role: 'admin' }), 'proof format'],
    // Nothing checks a field beside the signed head, the anchor or the proof's own: a reader would take it as proven.
    ['a field beside the signed batch head', (p) => (p.batch.approvedBy = 'the CEO'), 'proof format'],
    ['a field beside the anchor', (p) => (p.anchor.finalized = true), 'proof format'],
    ['a field beside the proof\'s own', (p) => (p.verified = true), 'proof format'],
    ['no contract address', (p) => delete p.anchor.contract, 'proof format'],
    ['seq as a string', (p) => (p.seq = String(p.seq)), 'proof format'],
    ['a batch id as a string', (p) => (p.batch.id = String(p.batch.id)), 'proof format'],
    ['an index past the tree', (p) => ((p.index = 3), (p.seq = 43)), 'leaf'],
    // The same signature re-encoded outside DESIGN.md's r ‖ s ‖ v (v = 27 + recovery id, low s):
    // ethers took the first three, the browser's secp256k1 the fourth.
    ['a signature with v = 35 + recovery id (EIP-155 style)', (p) => (p.batch.signature = withV(p.batch.signature, 35)), 'batch signature'],
    ['a signature with v = 0/1', (p) => (p.batch.signature = withV(p.batch.signature, 0)), 'batch signature'],
    ['a 64-byte compact signature (EIP-2098)', (p) => (p.batch.signature = compact(p.batch.signature)), 'batch signature'],
    ['a high-s signature (the same one, s negated mod n)', (p) => (p.batch.signature = highS(p.batch.signature)), 'batch signature'],
    ['a signature in uppercase hex', (p) => (p.batch.signature = `0x${p.batch.signature.slice(2).toUpperCase()}`), 'batch signature'],
  ];
  for (const [what, tamper, check] of tamperings) {
    it(`fails "${check}" on ${what}, exactly as the server's verifier does`, async () => {
      const proof = makeProof();
      tamper(proof);
      const mine = await m.verify.verifyProofInBrowser(proof, { rpcUrl: UNREACHABLE_RPC });
      expect(mine.find((r) => r.name === check)).to.include({ ok: false });
      const server = await verifyProofFile(proof, { rpcUrl: UNREACHABLE_RPC });
      expect(mine.slice(0, 5).map((r) => [r.name, r.ok])).to.deep.equal(server.slice(0, 5).map((r) => [r.name, r.ok]));
    });
  }

  it('names a field beside the signed batch head the way the server does', async () => {
    const proof = makeProof();
    proof.batch.approvedBy = 'the CEO';
    const detail = 'unexpected field "batch.approvedBy": the proof covers none beside those of openmcp-proof/1';
    expect((await m.verify.verifyProofInBrowser(proof, { rpcUrl: UNREACHABLE_RPC }))[0]).to.deep.equal({ name: 'proof format', ok: false, detail });
    expect((await verifyProofFile(proof, { rpcUrl: UNREACHABLE_RPC }))[0]).to.deep.equal({ name: 'proof format', ok: false, detail });
  });

  it('agrees with the server on any envelope field set to any JSON value, or removed', async () => {
    const fields = ['id', 'type', 'version', 'stream', 'occurredAt', 'tenant', 'actor', 'correlationId', 'causationId', 'data', 'revision', 'position', 'hash', 'note'];
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...fields), fc.option(fc.jsonValue(), { nil: undefined }), async (field, value) => {
        const proof = makeProof();
        if (value === undefined) delete proof.event[field];
        else proof.event[field] = value;
        const mine = await m.verify.verifyProofInBrowser(proof, { rpcUrl: UNREACHABLE_RPC });
        const server = await verifyProofFile(proof, { rpcUrl: UNREACHABLE_RPC });
        expect(mine.slice(0, 5).map((r) => [r.name, r.ok]), `${field} = ${JSON.stringify(value)}`).to.deep.equal(server.slice(0, 5).map((r) => [r.name, r.ok]));
      }),
      { numRuns: 200 },
    );
  });

  it('matches the server on the event hash of envelopes with every optional field', async () => {
    const e = { ...eventHashVectors.cases[0].event, correlationId: 'c-1', causationId: 'c-0', data: { n: 7, s: 'é\u2028"', l: [null, true] } };
    expect(await m.eventHash.computeEventHash(e)).to.equal(serverEventHash(e as never));
  });

  it('finds a key written twice in one object where the server does (a dropped file that JSON.parse reads one way, other readers another)', () => {
    // Keys from a small set, some spelled with escapes, so objects often name one twice.
    const key = fc.constantFrom('a', 'b', '\\u0061', 'a\\\\', 'b\\"');
    const entries = fc.array(fc.tuple(key, fc.jsonValue({ maxDepth: 2 })), { maxLength: 5 });
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 3 }), entries, fc.boolean(), (v, es, pretty) => {
        const obj = `{${es.map(([k, x]) => `"${k}":${JSON.stringify(x)}`).join(pretty ? ',\n ' : ',')}}`;
        for (const text of [JSON.stringify(v), `[${JSON.stringify(v)},${obj}]`, `{"v":${JSON.stringify(v, null, pretty ? 2 : undefined)},"o":${obj}}`]) {
          JSON.parse(text);
          expect(m.twice.duplicateJsonKey(text), text).to.deep.equal(serverDuplicateJsonKey(text));
        }
      }),
      { numRuns: 300 },
    );
    const text = JSON.stringify(makeProof()).replace('"event":{', '"event":{"tenant":"mallory",');
    expect(m.twice.proofFileProblem(text, 'p.json')).to.match(/^p\.json names "tenant" twice in one object \(the second at line 1, column \d+\): JSON readers differ on which one counts, so it is not a proof of one event; get the file again$/);
    expect(m.twice.proofFileProblem(JSON.stringify(makeProof()), 'p.json')).to.equal(undefined);
    expect(m.twice.proofFileProblem('{"a":', 'p.json')).to.equal('p.json is not JSON.');
  });

  it("checks a proof fetched from the gateway for a key written twice, as a dropped file, before any check runs (the answer's text, not response.json())", async () => {
    const { fetchProofFile } = (await load('fetch-proof')) as { fetchProofFile(id: string, getText: (path: string) => Promise<string>): Promise<{ proof?: unknown; text?: string; problem?: string }> };
    const id = '01937a6e-7f00-7000-8000-000000000001';
    const asked: string[] = [];
    const answering = (text: string) => async (path: string) => (asked.push(path), text);
    const good = JSON.stringify(makeProof());
    // `text` as it came, for the download: `openmcp events proof` saves the same bytes.
    expect(await fetchProofFile(id, answering(good))).to.deep.equal({ proof: JSON.parse(good), text: good });
    expect(asked).to.deep.equal([`/v1/events/${id}/proof`]);
    const twice = good.replace('"event":{', '"event":{"tenant":"mallory",');
    const got = await fetchProofFile(id, answering(twice));
    expect(got.proof).to.equal(undefined);
    expect(got.problem).to.match(new RegExp(`^The gateway's answer for event ${id} names "tenant" twice in one object \\(the second at line 1, column \\d+\\): JSON readers differ on which one counts, so it is not a proof of one event`));
    // The API's refusals (PROOF_PENDING, NOT_FOUND) reach the view as they did, for its retry.
    const pending = Object.assign(new Error('not anchored yet'), { code: 'PROOF_PENDING', retryAfter: 3 });
    const refused = await fetchProofFile(id, async () => Promise.reject(pending)).catch((e: unknown) => e);
    expect(refused).to.equal(pending);
  });

  // The server said "format is undefined, expected openmcp-proof/1" of a list (the browser: "not a JSON object") and of an object without one.
  it('says what the server says of a file that is no proof object, or one without a format', async () => {
    for (const [file, said] of [
      [[makeProof()], 'not a JSON object'],
      [[], 'not a JSON object'],
      ['openmcp-proof/1', 'not a JSON object'],
      [{}, 'format is missing, expected openmcp-proof/1'],
      [{ format: 1 }, 'format is 1, expected openmcp-proof/1'],
    ] as const) {
      const server = await verifyProofFile(file, { rpcUrl: UNREACHABLE_RPC });
      const mine = await m.verify.verifyProofInBrowser(file, { rpcUrl: UNREACHABLE_RPC });
      expect(server[0], JSON.stringify(file)).to.deep.equal({ name: 'proof format', ok: false, detail: said });
      expect(mine[0], JSON.stringify(file)).to.deep.equal(server[0]);
    }
  });

  // They passed "proof format": a file without its anchor's transaction ("where to look"), with markup in its place, or without the signer it names (then check 5 said "file names undefined").
  it('fails "proof format" on a batch signer that is no address, an anchor txHash or blockNumber missing or malformed, and a hash given as a list, as the server does', async () => {
    const cases: [(p: Record<string, any>) => void, string][] = [
      [(p) => delete p.batch.signer, 'batch signer is not an address (0x and 40 hex digits)'],
      [(p) => (p.batch.signer = 'sealer'), 'batch signer is not an address (0x and 40 hex digits)'],
      [(p) => delete p.anchor.txHash, 'anchor txHash/blockNumber missing: a 32-byte lowercase hex hash and a block number'],
      [(p) => (p.anchor.txHash = '<b>0x</b>'), 'anchor txHash/blockNumber missing: a 32-byte lowercase hex hash and a block number'],
      [(p) => (p.anchor.blockNumber = '9'), 'anchor txHash/blockNumber missing: a 32-byte lowercase hex hash and a block number'],
      [(p) => delete p.anchor.blockNumber, 'anchor txHash/blockNumber missing: a 32-byte lowercase hex hash and a block number'],
      // A list of one hash reads as that hash to a regular expression (String(['0x…']) is '0x…'): the server passed it as well-formed.
      [(p) => (p.anchor.txHash = [p.anchor.txHash]), 'anchor txHash/blockNumber missing: a 32-byte lowercase hex hash and a block number'],
      [(p) => (p.batch.root = [p.batch.root]), 'batch root/prevRoot are not 32-byte lowercase hex'],
      [(p) => (p.batch.prevRoot = [[p.batch.prevRoot]]), 'batch root/prevRoot are not 32-byte lowercase hex'],
      [(p) => (p.path = p.path.map((x: string) => [x])), 'path is not a list of 32-byte lowercase hex'],
    ];
    for (const [doctor, said] of cases) {
      const p = makeProof();
      doctor(p);
      const server = await verifyProofFile(p, { rpcUrl: UNREACHABLE_RPC });
      const mine = await m.verify.verifyProofInBrowser(p, { rpcUrl: UNREACHABLE_RPC });
      expect(server[0], said).to.deep.equal({ name: 'proof format', ok: false, detail: said });
      expect(mine[0], said).to.deep.equal(server[0]);
    }
  });
});
