import { randomBytes } from 'node:crypto';
import type { Knex } from 'knex';
import { sha256Utf8Hex } from '../core/hash';
import { newId } from '../core/ids';
import type { EraseSubjectKeyReturnType, SubjectKey, SubjectKeyRecord, SubjectKeyStore } from './subject-key-store';

export const SUBJECT_KEYS_TABLE = 'subject_keys';

/** A unique key already taken (MySQL/MariaDB ER_DUP_ENTRY, SQLite's unique constraint). */
function isDuplicateKey(err: unknown): boolean {
  const code = (err as { code?: string }).code;
  return code === 'ER_DUP_ENTRY' || code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}

/**
 * Subject keys in `subject_keys` (migrations/20261210000300_subject_keys.ts), over knex (MySQL or
 * SQLite). A subject is kept only as its SHA-256 (`subject_hash`): the table names no one, but an
 * unsalted hash lets whoever knows a subject id find its rows (GET /v1/subjects/:subject does);
 * `live_subject_hash` (unique, null once erased) is what makes creation
 * race-safe: of two inserts for one subject, one fails on it and reads the winner's key.
 */
export class SqlSubjectKeyStore implements SubjectKeyStore {
  constructor(private readonly knex: Knex, private readonly now: () => Date = () => new Date()) {}

  async keyFor(subject: string): Promise<SubjectKey> {
    const h = sha256Utf8Hex(subject);
    const found = await this.live(h);
    if (found) return found;
    const k = { kid: newId(), key: randomBytes(32) };
    try {
      await this.knex(SUBJECT_KEYS_TABLE).insert({ kid: k.kid, subject_hash: h, live_subject_hash: h, key_hex: k.key.toString('hex'), created_at: this.now().toISOString() });
      return k;
    } catch (err) {
      if (!isDuplicateKey(err)) throw err;
      // Another process created this subject's key between our read and our insert: use theirs.
      const winner = await this.live(h);
      if (!winner) throw err;
      return winner;
    }
  }

  async keyById(kid: string): Promise<Buffer | undefined> {
    const row = await this.knex(SUBJECT_KEYS_TABLE).where({ kid }).first('key_hex');
    return row?.key_hex ? Buffer.from(String(row.key_hex), 'hex') : undefined;
  }

  async erase(subject: string): Promise<EraseSubjectKeyReturnType> {
    const h = sha256Utf8Hex(subject);
    return this.knex.transaction(async (trx) => {
      const rows: { kid: string }[] = await trx(SUBJECT_KEYS_TABLE).where({ live_subject_hash: h }).forUpdate().select('kid');
      const before = (await trx(SUBJECT_KEYS_TABLE).where({ subject_hash: h }).whereNotNull('erased_at').select('kid')).map((r: { kid: string }) => String(r.kid));
      if (rows.length) {
        await trx(SUBJECT_KEYS_TABLE).whereIn('kid', rows.map((r) => r.kid)).update({ key_hex: null, live_subject_hash: null, erased_at: this.now().toISOString() });
        return { erased: rows.map((r) => r.kid), before, known: true };
      }
      return { erased: [], before, known: before.length > 0 };
    });
  }

  async keysOf(subject: string): Promise<SubjectKeyRecord[]> {
    // kid breaks a tie of created_at: UUIDv7s made later sort later.
    const rows: { kid: string; created_at: string; erased_at: string | null }[] = await this.knex(SUBJECT_KEYS_TABLE)
      .where({ subject_hash: sha256Utf8Hex(subject) })
      .orderBy([{ column: 'created_at' }, { column: 'kid' }])
      .select('kid', 'created_at', 'erased_at');
    return rows.map((r) => ({ kid: String(r.kid), createdAt: String(r.created_at), ...(r.erased_at ? { erasedAt: String(r.erased_at) } : {}) }));
  }

  private async live(h: string): Promise<SubjectKey | undefined> {
    const row = await this.knex(SUBJECT_KEYS_TABLE).where({ live_subject_hash: h }).first('kid', 'key_hex');
    return row ? { kid: String(row.kid), key: Buffer.from(String(row.key_hex), 'hex') } : undefined;
  }
}
