/** Big-endian readers and writers for the non-flexible Kafka encoding (every version this broker offers). */
export class Reader {
  offset = 0;
  constructor(private readonly buf: Buffer) {}

  int8(): number {
    return this.buf.readInt8(this.advance(1));
  }
  bool(): boolean {
    return this.int8() !== 0;
  }
  int16(): number {
    return this.buf.readInt16BE(this.advance(2));
  }
  int32(): number {
    return this.buf.readInt32BE(this.advance(4));
  }
  int64(): bigint {
    return this.buf.readBigInt64BE(this.advance(8));
  }
  /** int64 as a number: offsets and timestamps here stay far below 2^53. */
  int64n(): number {
    return Number(this.int64());
  }
  nullableString(): string | null {
    const len = this.int16();
    if (len < 0) return null;
    const at = this.advance(len);
    return this.buf.toString('utf8', at, at + len);
  }
  string(): string {
    return this.nullableString() ?? '';
  }
  nullableBytes(): Buffer | null {
    const len = this.int32();
    if (len < 0) return null;
    const at = this.advance(len);
    return this.buf.subarray(at, at + len);
  }
  bytes(): Buffer {
    return this.nullableBytes() ?? Buffer.alloc(0);
  }
  nullableArray<T>(item: (r: Reader) => T): T[] | null {
    const n = this.int32();
    if (n < 0) return null;
    const out: T[] = [];
    for (let i = 0; i < n; i++) out.push(item(this));
    return out;
  }
  array<T>(item: (r: Reader) => T): T[] {
    return this.nullableArray(item) ?? [];
  }
  private advance(n: number): number {
    const at = this.offset;
    if (at + n > this.buf.length) throw new RangeError(`read past end of request (${at}+${n} > ${this.buf.length})`);
    this.offset += n;
    return at;
  }
}

export class Writer {
  private buf = Buffer.alloc(256);
  private len = 0;

  int8(v: number): this {
    this.ensure(1).writeInt8(v, this.len);
    this.len += 1;
    return this;
  }
  bool(v: boolean): this {
    return this.int8(v ? 1 : 0);
  }
  int16(v: number): this {
    this.ensure(2).writeInt16BE(v, this.len);
    this.len += 2;
    return this;
  }
  int32(v: number): this {
    this.ensure(4).writeInt32BE(v, this.len);
    this.len += 4;
    return this;
  }
  int64(v: number | bigint): this {
    this.ensure(8).writeBigInt64BE(BigInt(v), this.len);
    this.len += 8;
    return this;
  }
  nullableString(v: string | null): this {
    if (v === null) return this.int16(-1);
    const b = Buffer.from(v, 'utf8');
    return this.int16(b.length).raw(b);
  }
  string(v: string): this {
    return this.nullableString(v);
  }
  nullableBytes(v: Buffer | null): this {
    if (v === null) return this.int32(-1);
    return this.int32(v.length).raw(v);
  }
  array<T>(items: readonly T[], item: (w: Writer, v: T, i: number) => void): this {
    this.int32(items.length);
    items.forEach((v, i) => item(this, v, i));
    return this;
  }
  raw(b: Uint8Array): this {
    this.ensure(b.length).set(b, this.len);
    this.len += b.length;
    return this;
  }
  /** The bytes written so far, prefixed by their int32 size (one frame on the wire). */
  frame(): Buffer {
    const out = Buffer.allocUnsafe(4 + this.len);
    out.writeInt32BE(this.len, 0);
    this.buf.copy(out, 4, 0, this.len);
    return out;
  }
  private ensure(n: number): Buffer {
    if (this.len + n > this.buf.length) {
      const next = Buffer.alloc(Math.max(this.buf.length * 2, this.len + n));
      this.buf.copy(next, 0, 0, this.len);
      this.buf = next;
    }
    return this.buf;
  }
}
