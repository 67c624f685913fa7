import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { computeAddress } from 'ethers';
import { verifyOutputSignature } from '../../src/agent';
import { startGatewayProcess, type GatewayProcess } from '../support/gateway-process';
import { openmcpInProcess } from '../support/openmcp-in-process';

const ROOT = join(__dirname, '..', '..');

function openmcp(args: string[]): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(ROOT, 'bin', 'openmcp'), ...args], { cwd: ROOT });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('exit', (code) => resolve({ code, out }));
  });
}

/**
 * The same command line in this process (test/support/openmcp-in-process.ts): for the variations
 * on a verification the real command has shown (a tampered file, a pinned signer), each a cold start
 * of node, tsx and ethers otherwise.
 */
async function openmcpInThisProcess(args: string[]): Promise<{ code: number | null; out: string }> {
  const r = await openmcpInProcess(args);
  return { code: r.status, out: r.stdout + r.stderr };
}

async function until<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/**
 * The auditor's path on the embedded default, through the real REST API and CLI processes:
 * a task runs, its batch is anchored, the TaskCompleted proof verifies with `openmcp verify`
 * against the chain alone, tampering is caught and named, and the output signature checks.
 */
describe('proofs end to end (embedded default)', function () {
  this.timeout(180_000);
  let gw: GatewayProcess;
  let headers: Record<string, string>;
  let proofFile: string;
  let proof: Record<string, any>;

  before(async () => {
    gw = await startGatewayProcess({ BATCH_MAX_SECONDS: '1' });
    headers = { authorization: `Bearer ${readFileSync(join(gw.dataDir, 'admin.key'), 'utf8').trim()}`, 'content-type': 'application/json' };
  });
  after(async () => {
    await gw?.stop('SIGKILL');
    rmSync(gw.dataDir, { recursive: true, force: true });
  });

  it('runs a task with explicit steps to completion with a signed output', async () => {
    const res = await fetch(`${gw.url}/v1/tasks`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ steps: [{ tool: 'examples__echo', arguments: { text: 'proof me' } }] }),
    });
    expect(res.status).to.equal(202);
    const { id } = (await res.json()) as { id: string };
    const task = await until('task completed', async () => {
      const t = (await (await fetch(`${gw.url}/v1/tasks/${id}`, { headers })).json()) as { status: string };
      return t.status === 'completed' ? t : undefined;
    });
    expect(task.status).to.equal('completed');
    const events = (await (await fetch(`${gw.url}/v1/events?stream=task-${id}&limit=100`, { headers })).json()) as { items: { id: string; type: string; data: any }[] };
    const completed = events.items.find((e) => e.type === 'TaskCompleted')!;
    expect(verifyOutputSignature(completed.data)).to.equal(true);
    const agentKey = readFileSync(join(gw.dataDir, 'agent.key'), 'utf8').trim();
    expect(completed.data.signer.toLowerCase()).to.equal(computeAddress(agentKey).toLowerCase());

    // 409 PROOF_PENDING with Retry-After until the batch is anchored, then the proof file.
    proof = await until('proof', async () => {
      const r = await fetch(`${gw.url}/v1/events/${completed.id}/proof`, { headers });
      if (r.status === 409) {
        expect(r.headers.get('retry-after')).to.match(/^\d+$/);
        expect(((await r.json()) as { code: string }).code).to.equal('PROOF_PENDING');
        return undefined;
      }
      expect(r.status).to.equal(200);
      return (await r.json()) as Record<string, any>;
    });
    expect(proof.format).to.equal('openmcp-proof/1');
    proofFile = join(gw.dataDir, 'proof.json');
    writeFileSync(proofFile, JSON.stringify(proof, null, 2));
  });

  it('openmcp verify exits 0 on the proof, with only the file and the RPC URL', async () => {
    const r = await openmcp(['verify', proofFile, '--rpc', `http://127.0.0.1:${gw.chainPort}`]);
    expect(r.out).to.match(/on-chain root/);
    expect(r.code, r.out).to.equal(0);
  });

  const tampers: [string, (p: Record<string, any>) => void, RegExp][] = [
    ['one byte of the stored event', (p) => (p.event.data.output.steps[0].text = 'proof mE'), /FAILED: event hash/],
    ['one byte of the path', (p) => (p.path[0] = p.path[0].slice(0, -1) + (p.path[0].endsWith('0') ? '1' : '0')), /FAILED: root from path/],
    ['one byte of the root', (p) => (p.batch.root = p.batch.root.slice(0, -1) + (p.batch.root.endsWith('0') ? '1' : '0')), /FAILED: (root from path|batch signature)/],
  ];
  for (const [what, tamper, named] of tampers) {
    it(`exits non-zero naming the check after changing ${what}`, async function () {
      if (what.includes('path') && proof.path.length === 0) this.skip();
      const copy = JSON.parse(JSON.stringify(proof));
      tamper(copy);
      const file = join(gw.dataDir, 'tampered.json');
      writeFileSync(file, JSON.stringify(copy));
      const r = await openmcpInThisProcess(['verify', file, '--rpc', `http://127.0.0.1:${gw.chainPort}`]);
      expect(r.code).to.not.equal(0);
      expect(r.out).to.match(named);
    });
  }

  it('verify-batch re-derives the root from the export and fails when an event is deleted from it', async () => {
    const exp = (await (await fetch(`${gw.url}/v1/batches/${proof.batch.id}/events`, { headers })).json()) as { events: unknown[] };
    const file = join(gw.dataDir, 'batch.json');
    writeFileSync(file, JSON.stringify(exp));
    const ok = await openmcp(['verify-batch', String(proof.batch.id), '--file', file, '--rpc', `http://127.0.0.1:${gw.chainPort}`]);
    expect(ok.code, ok.out).to.equal(0);
    expect(ok.out).to.contain(`✔ batch signature: signed by ${proof.batch.signer} (named by the export, not pinned`);
    const pinned = await openmcpInThisProcess(['verify-batch', String(proof.batch.id), '--file', file, '--rpc', `http://127.0.0.1:${gw.chainPort}`, '--signer', proof.batch.signer]);
    expect(pinned.code, pinned.out).to.equal(0);
    expect(pinned.out).to.contain(`✔ batch signature: signed by ${proof.batch.signer} (the sealer you pinned)`);
    const other = `0x${'c3'.repeat(20)}`;
    const wrong = await openmcpInThisProcess(['verify-batch', String(proof.batch.id), '--file', file, '--rpc', `http://127.0.0.1:${gw.chainPort}`, '--signer', other]);
    expect(wrong.code, wrong.out).to.equal(1);
    expect(wrong.out).to.contain(`✘ batch signature: signed by ${proof.batch.signer}, not by the sealer you pinned, ${other}`);
    exp.events.splice(0, 1);
    writeFileSync(file, JSON.stringify(exp));
    const bad = await openmcpInThisProcess(['verify-batch', String(proof.batch.id), '--file', file, '--rpc', `http://127.0.0.1:${gw.chainPort}`]);
    expect(bad.code).to.not.equal(0);
  });
});
