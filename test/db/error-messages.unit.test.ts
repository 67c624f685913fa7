import { expect } from 'chai';
import { openKnex } from '../../src/db/knex';

// SQLite only (in memory): the option is set the same way for MySQL in openKnex.
describe('openKnex: a failed statement’s message', () => {
  it('shows the statement with its placeholders, never the values bound to it (they reach logs)', async () => {
    const knex = await openKnex('sqlite::memory:');
    try {
      await knex.schema.createTable('t', (t) => t.string('body').primary());
      await knex('t').insert({ body: '{"apiKey":"SECRET-VALUE"}' });
      const err = (await knex('t').insert({ body: '{"apiKey":"SECRET-VALUE"}' }).catch((e: unknown) => e)) as Error;
      expect(err.message).to.include('UNIQUE constraint failed').and.include('values (?)');
      expect(err.message).to.not.include('SECRET-VALUE');
    } finally {
      await knex.destroy();
    }
  });
});
