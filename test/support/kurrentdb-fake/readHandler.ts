import { randomUUID } from 'node:crypto';
import type * as grpc from '@grpc/grpc-js';
import { sharedPb, streamsPb, Timestamp } from './protocol';
import { comparePosition, type MemoryLog, type StoredRecord } from './memoryLog';
import { faultError, type Faults } from './faults';

type Options = streamsPb.ReadReq.Options;
const O = streamsPb.ReadReq.Options;

function toUuid(id: string, structured: boolean): sharedPb.UUID {
  const u = new sharedPb.UUID();
  if (!structured) return u.setString(id);
  const hex = id.replace(/-/g, '');
  const s = new sharedPb.UUID.Structured();
  s.setMostSignificantBits(BigInt.asIntN(64, BigInt(`0x${hex.slice(0, 16)}`)).toString());
  s.setLeastSignificantBits(BigInt.asIntN(64, BigInt(`0x${hex.slice(16)}`)).toString());
  return u.setStructured(s);
}

function eventResp(r: StoredRecord, structured: boolean): streamsPb.ReadResp {
  const rec = new streamsPb.ReadResp.ReadEvent.RecordedEvent();
  rec.setId(toUuid(r.id, structured));
  rec.setStreamIdentifier(new sharedPb.StreamIdentifier().setStreamName(Buffer.from(r.stream, 'utf8')));
  rec.setStreamRevision(String(r.revision));
  rec.setCommitPosition(String(r.commit));
  rec.setPreparePosition(String(r.prepare));
  const meta = rec.getMetadataMap();
  meta.set('type', r.type);
  meta.set('content-type', r.contentType);
  meta.set('created', String(r.created));
  rec.setData(r.data);
  rec.setCustomMetadata(r.customMetadata);
  const ev = new streamsPb.ReadResp.ReadEvent();
  ev.setEvent(rec);
  ev.setCommitPosition(String(r.commit));
  return new streamsPb.ReadResp().setEvent(ev);
}

/** Stream-name or event-type filter by prefix or regex, as the client's filter options encode it. */
function filterOf(o: Options): (r: StoredRecord) => boolean {
  if (o.getFilterOptionCase() !== O.FilterOptionCase.FILTER) return () => true;
  const f = o.getFilter()!;
  const onType = f.getFilterCase() === O.FilterOptions.FilterCase.EVENT_TYPE;
  const expr = onType ? f.getEventType()! : f.getStreamIdentifier()!;
  const prefixes = expr.getPrefixList();
  const regex = expr.getRegex() ? new RegExp(expr.getRegex()) : null;
  return (r) => {
    const subject = onType ? r.type : r.stream;
    if (prefixes.length > 0 && !prefixes.some((p) => subject.startsWith(p))) return false;
    return regex ? regex.test(subject) : true;
  };
}

function allPosition(p: streamsPb.ReadReq.Options.Position): { commit: bigint; prepare: bigint } {
  return { commit: BigInt(p.getCommitPosition()), prepare: BigInt(p.getPreparePosition()) };
}

/** Records a bounded read returns, in the order it returns them. */
function bounded(log: MemoryLog, o: Options): StoredRecord[] | 'not-found' | 'invalid-position' {
  const backwards = o.getReadDirection() === O.ReadDirection.BACKWARDS;
  const count = Number(o.getCount());
  if (o.getStreamOptionCase() === O.StreamOptionCase.STREAM) {
    const so = o.getStream()!;
    const records = log.stream(Buffer.from(so.getStreamIdentifier()!.getStreamName_asU8()).toString('utf8'));
    if (!records) return 'not-found';
    const C = O.StreamOptions.RevisionOptionCase;
    const from =
      so.getRevisionOptionCase() === C.REVISION ? Number(so.getRevision())
      : so.getRevisionOptionCase() === C.END ? records.length - 1
      : backwards ? records.length - 1 : 0;
    const picked = backwards ? records.slice(0, Math.min(from, records.length - 1) + 1).reverse() : records.slice(from);
    return picked.slice(0, count);
  }
  const ao = o.getAll()!;
  const C = O.AllOptions.AllOptionCase;
  const keep = filterOf(o);
  // Where the read starts in the log (the server seeks to a position, it does not scan up to it):
  // forwards includes the record at `from`; backwards starts strictly before it, like the server.
  let start: number;
  if (ao.getAllOptionCase() === C.POSITION) {
    const from = allPosition(ao.getPosition()!);
    start = firstAtOrAfter(log.all, from);
    // The server reads a record at the position given: one inside the log that starts no record
    // (inside another) is refused (InvalidReadException, "Trying to read from an invalid position").
    const last = log.all[log.all.length - 1];
    if (start < log.all.length && comparePosition(log.all[start], from) !== 0 && from.commit > 0n && last && comparePosition(from, last) < 0) return 'invalid-position';
    if (backwards) start--;
  }
  else if (ao.getAllOptionCase() === C.END) start = backwards ? log.all.length - 1 : log.all.length;
  else start = backwards ? -1 : 0;
  const picked: StoredRecord[] = [];
  for (let i = start; i >= 0 && i < log.all.length && picked.length < count; i += backwards ? -1 : 1) if (keep(log.all[i])) picked.push(log.all[i]);
  return picked;
}

/** The index of the first record at or after `from` in the log (in position order): a binary search. */
function firstAtOrAfter(all: StoredRecord[], from: { commit: bigint; prepare: bigint }): number {
  let lo = 0;
  let hi = all.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (comparePosition(all[mid], from) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Streams/Read: bounded reads of a stream or $all, and catch-up subscriptions to $all. */
export function readHandler(log: MemoryLog, faults: Faults) {
  return (call: grpc.ServerWritableStream<streamsPb.ReadReq, streamsPb.ReadResp>): void => {
    const fault = faults.take('Read');
    if (fault) {
      call.emit('error', faultError(fault));
      return;
    }
    const o = call.request.getOptions()!;
    const structured = o.getUuidOption()?.getContentCase() === O.UUIDOption.ContentCase.STRUCTURED;
    if (o.getCountOptionCase() === O.CountOptionCase.SUBSCRIPTION) return subscribe(log, o, structured, call);
    const result = bounded(log, o);
    if (result === 'invalid-position') {
      call.emit('error', { code: 2, details: 'Trying to read from an invalid position.' }); // UNKNOWN
      return;
    }
    if (result === 'not-found') {
      const nf = new streamsPb.ReadResp.StreamNotFound();
      nf.setStreamIdentifier(o.getStream()!.getStreamIdentifier());
      call.write(new streamsPb.ReadResp().setStreamNotFound(nf));
    } else {
      for (const r of result) call.write(eventResp(r, structured));
    }
    call.end();
  };
}

/**
 * A catch-up subscription to $all: confirmation, history after the start position (exclusive),
 * caught-up, then live records. Everything here runs synchronously between appends, so no
 * record can fall between the history and the live listener.
 */
function subscribe(log: MemoryLog, o: Options, structured: boolean, call: grpc.ServerWritableStream<streamsPb.ReadReq, streamsPb.ReadResp>): void {
  if (o.getStreamOptionCase() !== O.StreamOptionCase.ALL) {
    call.emit('error', { code: 12, details: 'the fake only subscribes to $all' });
    return;
  }
  const keep = filterOf(o);
  const filtered = o.getFilterOptionCase() === O.FilterOptionCase.FILTER;
  const ao = o.getAll()!;
  const C = O.AllOptions.AllOptionCase;
  const from = ao.getAllOptionCase() === C.POSITION ? allPosition(ao.getPosition()!) : null;
  const history =
    ao.getAllOptionCase() === C.END ? []
    : from ? log.all.filter((r) => comparePosition(r, from) > 0)
    : [...log.all];
  const confirmation = new streamsPb.ReadResp.SubscriptionConfirmation().setSubscriptionId(randomUUID());
  call.write(new streamsPb.ReadResp().setConfirmation(confirmation));
  const send = (r: StoredRecord) => {
    if (keep(r)) call.write(eventResp(r, structured));
    else if (filtered) call.write(checkpoint(r));
  };
  history.forEach(send);
  const caughtUp = new streamsPb.ReadResp.CaughtUp().setTimestamp(Timestamp.fromDate(new Date()));
  call.write(new streamsPb.ReadResp().setCaughtUp(caughtUp));
  const off = log.onAppend(send);
  const stop = () => off();
  call.on('cancelled', stop);
  call.on('close', stop);
  call.on('error', stop);
}

function checkpoint(r: StoredRecord): streamsPb.ReadResp {
  const c = new streamsPb.ReadResp.Checkpoint();
  c.setCommitPosition(String(r.commit));
  c.setPreparePosition(String(r.prepare));
  return new streamsPb.ReadResp().setCheckpoint(c);
}
