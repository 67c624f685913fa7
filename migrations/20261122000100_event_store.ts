import type { Knex } from 'knex';
import { createTable } from '../src/db/knex';

/**
 * The SQL event store: `events` (append-only, enforced by triggers), `event_log_head` (the one
 * row whose lock serializes appends and hands out gap-free positions; see docs/architecture.md),
 * and `checkpoints` (last position handled by each consumer: relay, projectors, sealer).
 */
export async function up(knex: Knex): Promise<void> {
  const mysql = knex.client.config.client !== 'better-sqlite3';
  await createTable(knex, 'events', (t) => {
    t.bigInteger('position').primary();
    t.string('id', 36).notNullable().unique();
    t.string('stream', 200).notNullable();
    t.integer('revision').unsigned().notNullable();
    t.string('type', 100).notNullable();
    t.integer('version').notNullable();
    t.string('tenant', 100).notNullable();
    t.string('occurred_at', 24).notNullable();
    t.string('hash', 66).notNullable();
    if (mysql) t.specificType('body', 'LONGTEXT').notNullable();
    else t.text('body').notNullable();
    t.unique(['stream', 'revision']);
    t.index(['type']);
    t.index(['tenant', 'position']);
  });
  await createTable(knex, 'event_log_head', (t) => {
    t.integer('id').primary();
    t.bigInteger('next_position').notNullable();
  });
  await knex('event_log_head').insert({ id: 1, next_position: 0 });
  await createTable(knex, 'checkpoints', (t) => {
    t.string('name', 200).primary();
    t.bigInteger('position').notNullable();
    t.string('updated_at', 24).notNullable();
  });
  if (mysql) {
    await knex.raw(`CREATE TRIGGER events_append_only_update BEFORE UPDATE ON events FOR EACH ROW
      SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'events table is append-only: UPDATE rejected'`);
    await knex.raw(`CREATE TRIGGER events_append_only_delete BEFORE DELETE ON events FOR EACH ROW
      SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'events table is append-only: DELETE rejected'`);
  } else {
    await knex.raw(`CREATE TRIGGER events_append_only_update BEFORE UPDATE ON events
      BEGIN SELECT RAISE(ABORT, 'events table is append-only: UPDATE rejected'); END`);
    await knex.raw(`CREATE TRIGGER events_append_only_delete BEFORE DELETE ON events
      BEGIN SELECT RAISE(ABORT, 'events table is append-only: DELETE rejected'); END`);
  }
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('checkpoints');
  await knex.schema.dropTableIfExists('event_log_head');
  await knex.schema.dropTableIfExists('events');
}
