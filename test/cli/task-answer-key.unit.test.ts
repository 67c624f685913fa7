import { expect } from 'chai';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as secp from '@noble/secp256k1';
import { runTasksAnswerKey } from '../../src/cli/task-answer';
import { fromHex, toHex } from '../../src/core/hex';

describe('openmcp tasks answer-key', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'omc-answer-key-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('makes a private key (mode 0600) and prints its public key, compressed; run again, the same key', () => {
    const file = join(dir, 'answer.key');
    const lines: string[] = [];
    expect(runTasksAnswerKey({ keyFile: file }, (l) => lines.push(l))).to.equal(0);
    const key = readFileSync(file, 'utf8').trim();
    expect(statSync(file).mode & 0o777).to.equal(0o600);
    expect(lines[0]).to.equal(toHex(secp.getPublicKey(fromHex(key, 32), true)));
    expect(lines[1]).to.contain(file);
    const again: string[] = [];
    expect(runTasksAnswerKey({ keyFile: file }, (l) => again.push(l))).to.equal(0);
    expect(again).to.deep.equal([lines[0]]);
  });

  it('a file that holds no private key: exit 1, not overwritten', () => {
    const file = join(dir, 'answer.key');
    writeFileSync(file, 'not a key\n', { mode: 0o600 });
    const lines: string[] = [];
    expect(runTasksAnswerKey({ keyFile: file }, (l) => lines.push(l))).to.equal(1);
    expect(lines[0]).to.match(/^error SEALED_ANSWER_KEY_INVALID: /);
    expect(readFileSync(file, 'utf8')).to.equal('not a key\n');
  });

  // A directory, or a file it may not write: the system's error alone, "error: EISDIR: illegal operation on a directory, read", named no file.
  it('a --key it cannot read or write: exit 1 naming the file and the reason, as tasks answer does', () => {
    const lines: string[] = [];
    expect(runTasksAnswerKey({ keyFile: dir }, (l) => lines.push(l))).to.equal(1);
    expect(lines).to.deep.equal([`error SEALED_ANSWER_KEY_INVALID: cannot read or write the key file ${dir}: EISDIR`]);
  });
});
