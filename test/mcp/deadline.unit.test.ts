import { expect } from 'chai';
import { ErrorCode, McpError } from '@modelcontextprotocol/sdk/types.js';
import { Deadline } from '../../src/mcp/deadline';

describe("Deadline: a request's timeout the gateway keeps itself, told from an upstream's -32001 by identity", () => {
  it('aborts its signal with its own McpError RequestTimeout once ms pass, and knows that error only', async () => {
    const d = new Deadline(20);
    await new Promise((r) => d.signal.addEventListener('abort', r, { once: true }));
    expect(d.expired).to.equal(true);
    expect(d.signal.reason).to.equal(d.reason);
    expect(d.reason).to.be.instanceOf(McpError).and.to.include({ code: ErrorCode.RequestTimeout });
    expect(d.reason?.data).to.deep.equal({ timeout: 20 });
    expect(d.isExpiry(d.reason)).to.equal(true);
    // What an upstream answers with the same code, message and data is not it.
    expect(d.isExpiry(McpError.fromError(ErrorCode.RequestTimeout, 'Request timed out', { timeout: 20 }))).to.equal(false);
  });

  it("is not expired before its time, nor once cleared; an upstream's -32001 meanwhile is no expiry", async () => {
    const d = new Deadline(40);
    expect(d.isExpiry(new McpError(ErrorCode.RequestTimeout, 'quota service timed out'))).to.equal(false);
    d.clear();
    d.restart();
    await new Promise((r) => setTimeout(r, 80));
    expect([d.expired, d.signal.aborted]).to.deep.equal([false, false]);
    // Nor did it make its error (a stack captured on every call that ends in time: microseconds each).
    expect(d.reason).to.equal(undefined);
    expect(d.isExpiry(undefined)).to.equal(false);
  });

  it('restart() counts ms from now again; aborting its controller for another reason is no expiry', async () => {
    const d = new Deadline(200);
    await new Promise((r) => setTimeout(r, 20));
    expect(d.expired).to.equal(false);
    const restarted = performance.now();
    d.restart();
    await new Promise((r) => d.signal.addEventListener('abort', r, { once: true }));
    // A lower bound only (a busy machine makes it later, never sooner); 2 ms for the clocks' rounding.
    expect(performance.now() - restarted).to.be.at.least(198);

    const ac = new AbortController();
    const other = new Deadline(1_000, ac);
    ac.abort(new Error('cancelled by the caller'));
    expect(other.isExpiry(ac.signal.reason)).to.equal(false);
    other.clear();
  });
});
