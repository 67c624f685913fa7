import { randomBytes } from 'node:crypto';
import { newId } from '../core/ids';
import type { EraseSubjectKeyReturnType, SubjectKey, SubjectKeyRecord, SubjectKeyStore } from './subject-key-store';

/** In-memory subject keys: the embedded default's twin of SqlSubjectKeyStore, for tests and one process. */
export class MemorySubjectKeyStore implements SubjectKeyStore {
  private readonly live = new Map<string, SubjectKey>();
  private readonly byKid = new Map<string, Buffer>();
  /** Each subject's erased kids. */
  private readonly erased = new Map<string, string[]>();
  /** Each subject's keys as keysOf tells them, oldest first. */
  private readonly records = new Map<string, SubjectKeyRecord[]>();

  async keyFor(subject: string): Promise<SubjectKey> {
    let k = this.live.get(subject);
    if (!k) {
      k = { kid: newId(), key: randomBytes(32) };
      this.live.set(subject, k);
      this.byKid.set(k.kid, k.key);
      this.records.set(subject, [...(this.records.get(subject) ?? []), { kid: k.kid, createdAt: new Date().toISOString() }]);
    }
    return k;
  }

  async keyById(kid: string): Promise<Buffer | undefined> {
    return this.byKid.get(kid);
  }

  async erase(subject: string): Promise<EraseSubjectKeyReturnType> {
    const before = [...(this.erased.get(subject) ?? [])];
    const k = this.live.get(subject);
    if (!k) return { erased: [], before, known: before.length > 0 };
    this.live.delete(subject);
    this.byKid.get(k.kid)?.fill(0);
    this.byKid.delete(k.kid);
    this.erased.set(subject, [...before, k.kid]);
    const erasedAt = new Date().toISOString();
    this.records.set(subject, (this.records.get(subject) ?? []).map((r) => (r.kid === k.kid ? { ...r, erasedAt } : r)));
    return { erased: [k.kid], before, known: true };
  }

  async keysOf(subject: string): Promise<SubjectKeyRecord[]> {
    return (this.records.get(subject) ?? []).map((r) => ({ ...r }));
  }
}
