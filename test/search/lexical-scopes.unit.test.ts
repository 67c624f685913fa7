import { expect } from 'chai';
import { LexicalIndex, type ToolDocument } from '../../src/search/lexical-index';

const doc = (id: string, scope: string, description: string): ToolDocument => ({ id, name: id, server: 's', tool: id, description, scope });

describe('LexicalIndex: one BM25 corpus per scope (tenant)', () => {
  it("a tenant's scores do not move when another tenant adds documents with the same words", () => {
    const ix = new LexicalIndex();
    ix.upsert([doc('acme/alpha', 'acme', 'run the payroll export'), doc('acme/beta', 'acme', 'list invoices'), doc('shared/x', '*', 'echo text')]);
    const before = ix.search('payroll invoices', 10, undefined, ['acme', '*']);
    ix.upsert(Array.from({ length: 20 }, (_, i) => doc(`beta/${i}`, 'beta', 'payroll payroll payroll')));
    const after = ix.search('payroll invoices', 10, undefined, ['acme', '*']);
    expect(after).to.deep.equal(before);
    expect(after.map((h) => h.id)).to.have.members(['acme/alpha', 'acme/beta']);
    expect(ix.search('payroll', 5, undefined, ['beta']).map((h) => h.id.split('/')[0])).to.deep.equal(['beta', 'beta', 'beta', 'beta', 'beta']);
  });

  it('merges scopes by score; moves a document that changes scope; forgets emptied scopes', () => {
    const ix = new LexicalIndex();
    ix.upsert([doc('a', 'acme', 'send an email'), doc('b', '*', 'send a text message')]);
    expect(ix.search('send email', 5, undefined, ['acme', '*']).map((h) => h.id)).to.deep.equal(['a', 'b']);
    ix.upsert([doc('a', 'beta', 'send an email')]);
    expect(ix.size).to.equal(2);
    expect(ix.search('send email', 5, undefined, ['acme', '*']).map((h) => h.id)).to.deep.equal(['b']);
    ix.remove(['a', 'b', 'missing']);
    expect(ix.size).to.equal(0);
    expect(ix.search('send', 5)).to.deep.equal([]);
  });

  it('answers a search after a removal as a fresh index of the same documents, the first time as every later one (every replica alike)', () => {
    const docs = ['one', 'two', 'three', 'four'].map((n) => doc(`acme/${n}`, 'acme', `reverse a string of text ${n}`));
    const ix = new LexicalIndex();
    ix.upsert([...docs, doc('acme/gone', 'acme', 'reverse a string of text')]);
    ix.remove(['acme/gone']);
    // A document updated in place (a rediscovery) is removed and added again: the same holds.
    ix.upsert([docs[0]]);
    const fresh = new LexicalIndex();
    fresh.upsert([docs[1], docs[2], docs[3], docs[0]]);
    const first = ix.search('reverse a string', 10, undefined, ['acme']);
    const second = ix.search('reverse a string', 10, undefined, ['acme']);
    expect(first).to.deep.equal(second);
    expect(first).to.deep.equal(fresh.search('reverse a string', 10, undefined, ['acme']));
  });

  it('a tool rediscovered with another description, title or scope, a removal of an id never added and one removed twice leave it as a fresh index of what is there', () => {
    const warn = console.warn;
    const warned: unknown[] = [];
    console.warn = (...a: unknown[]) => void warned.push(a);
    try {
      const ix = new LexicalIndex();
      ix.upsert([doc('acme/a', 'acme', 'export the payroll ledger'), doc('acme/b', 'acme', 'list invoices'), { ...doc('acme/c', 'acme', 'send payroll mail'), title: 'Payroll mailer' }]);
      ix.search('payroll', 10); // a search before the changes, as a replica that served one has
      ix.upsert([doc('acme/a', 'acme', 'rotate api keys'), { ...doc('acme/c', 'acme', 'send payroll mail'), title: undefined }]);
      ix.upsert([doc('acme/b', 'beta', 'list invoices')]);
      expect(() => ix.remove(['acme/never', 'acme/b'])).to.not.throw();
      expect(() => ix.remove(['acme/b'])).to.not.throw();
      const fresh = new LexicalIndex();
      fresh.upsert([doc('acme/a', 'acme', 'rotate api keys'), doc('acme/c', 'acme', 'send payroll mail')]);
      for (const q of ['payroll', 'ledger mailer', 'rotate keys', 'invoices']) expect(ix.search(q, 10), q).to.deep.equal(fresh.search(q, 10));
      expect(ix.size).to.equal(2);
      expect(warned, 'minisearch told of no document changed before its removal').to.deep.equal([]);
    } finally {
      console.warn = warn;
    }
  });
});
