import { randomBytes } from 'node:crypto';
import { newId } from '../core/ids';
import type { EraseSubjectKeyReturnType, SubjectKey, SubjectKeyStore } from './subject-key-store';

/** In-memory subject keys: the embedded default's twin of SqlSubjectKeyStore, for tests and one process. */
export class MemorySubjectKeyStore implements SubjectKeyStore {
  private readonly live = new Map<string, SubjectKey>();
  private readonly byKid = new Map<string, Buffer>();
  private readonly known = new Set<string>();

  async keyFor(subject: string): Promise<SubjectKey> {
    let k = this.live.get(subject);
    if (!k) {
      k = { kid: newId(), key: randomBytes(32) };
      this.live.set(subject, k);
      this.byKid.set(k.kid, k.key);
      this.known.add(subject);
    }
    return k;
  }

  async keyById(kid: string): Promise<Buffer | undefined> {
    return this.byKid.get(kid);
  }

  async erase(subject: string): Promise<EraseSubjectKeyReturnType> {
    const k = this.live.get(subject);
    if (!k) return { erased: [], known: this.known.has(subject) };
    this.live.delete(subject);
    this.byKid.get(k.kid)?.fill(0);
    this.byKid.delete(k.kid);
    return { erased: [k.kid], known: true };
  }
}
