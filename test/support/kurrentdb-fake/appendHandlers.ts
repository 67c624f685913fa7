import type * as grpc from '@grpc/grpc-js';
import { Any, GoogleEmpty, sharedPb, statusPb, streamsPb } from './protocol';
import type { Expected, MemoryLog, Proposed } from './memoryLog';
import { faultError, type Faults } from './faults';

type BatchReq = streamsPb.BatchAppendReq;
type BatchResp = streamsPb.BatchAppendResp;

function proposed(m: streamsPb.BatchAppendReq.ProposedMessage | streamsPb.AppendReq.ProposedMessage): Proposed {
  const meta = m.getMetadataMap();
  return {
    id: uuidString(m.getId()),
    type: meta.get('type') ?? '',
    contentType: meta.get('content-type') ?? 'application/octet-stream',
    data: m.getData_asU8(),
    customMetadata: m.getCustomMetadata_asU8(),
  };
}

export function uuidString(u: sharedPb.UUID | undefined): string {
  if (!u) return '';
  if (u.hasStructured()) {
    const s = u.getStructured()!;
    const hex = (v: string) => BigInt.asUintN(64, BigInt(v)).toString(16).padStart(16, '0');
    const ms = hex(s.getMostSignificantBits());
    const ls = hex(s.getLeastSignificantBits());
    return `${ms.slice(0, 8)}-${ms.slice(8, 12)}-${ms.slice(12)}-${ls.slice(0, 4)}-${ls.slice(4)}`;
  }
  return u.getString();
}

function streamName(id: sharedPb.StreamIdentifier | undefined): string {
  return Buffer.from(id?.getStreamName_asU8() ?? new Uint8Array()).toString('utf8');
}

function batchExpected(o: streamsPb.BatchAppendReq.Options): Expected {
  const C = streamsPb.BatchAppendReq.Options.ExpectedStreamPositionCase;
  switch (o.getExpectedStreamPositionCase()) {
    case C.STREAM_POSITION: return { kind: 'exact', revision: Number(o.getStreamPosition()) };
    case C.NO_STREAM: return { kind: 'no_stream' };
    case C.STREAM_EXISTS: return { kind: 'stream_exists' };
    default: return { kind: 'any' };
  }
}

/**
 * Streams/BatchAppend: a bidirectional stream of requests keyed by correlation id. Each request
 * may be split over several messages (only the first carries options); the append happens when
 * `is_final` arrives. Failures travel in-band as a google.rpc-style Status with a typed detail.
 */
export function batchAppendHandler(log: MemoryLog, faults: Faults, maxAppendSize = Infinity) {
  return (call: grpc.ServerDuplexStream<BatchReq, BatchResp>): void => {
    const pending = new Map<string, { options: streamsPb.BatchAppendReq.Options; events: Proposed[] }>();
    call.on('data', (req: BatchReq) => {
      const key = uuidString(req.getCorrelationId());
      const entry = pending.get(key) ?? { options: req.getOptions()!, events: [] };
      pending.set(key, entry);
      entry.events.push(...req.getProposedMessagesList().map(proposed));
      if (!req.getIsFinal()) return;
      pending.delete(key);
      const stream = streamName(entry.options.getStreamIdentifier());
      const resp = new streamsPb.BatchAppendResp();
      resp.setCorrelationId(req.getCorrelationId());
      resp.setStreamIdentifier(entry.options.getStreamIdentifier());
      const fault = faults.take('BatchAppend');
      if (fault) {
        call.emit('error', faultError(fault));
        return;
      }
      // The server's MaxAppendSize: the data and metadata of one append together, refused whole.
      const size = entry.events.reduce((n, e) => n + e.data.length + e.customMetadata.length, 0);
      if (size > maxAppendSize) {
        resp.setError(maxAppendSizeStatus(maxAppendSize));
        call.write(resp);
        return;
      }
      const expected = batchExpected(entry.options);
      const out = log.append(stream, expected, entry.events);
      if (out.ok) {
        const success = new streamsPb.BatchAppendResp.Success();
        if (out.currentRevision < 0) success.setNoStream(new GoogleEmpty());
        else success.setCurrentRevision(String(out.currentRevision));
        const pos = new sharedPb.AllStreamPosition();
        pos.setCommitPosition(String(out.commit));
        pos.setPreparePosition(String(out.prepare));
        success.setPosition(pos);
        resp.setSuccess(success);
      } else {
        resp.setError(wrongExpectedStatus(expected, out.currentRevision, stream));
      }
      call.write(resp);
    });
    call.on('end', () => call.end());
    call.on('error', () => undefined);
  };
}

function maxAppendSizeStatus(max: number): statusPb.Status {
  const detail = new Any();
  detail.pack(new sharedPb.MaximumAppendSizeExceeded().setMaxappendsize(max).serializeBinary(), 'event_store.client.MaximumAppendSizeExceeded');
  const status = new statusPb.Status();
  status.setCode(3); // INVALID_ARGUMENT
  status.setMessage(`Maximum Append Size of ${max} Exceeded.`);
  status.setDetails(detail);
  return status;
}

function wrongExpectedStatus(expected: Expected, current: number | null, stream: string): statusPb.Status {
  const GEmpty = GoogleEmpty;
  const wev = new sharedPb.WrongExpectedVersion();
  if (current === null) wev.setCurrentNoStream(new GEmpty());
  else wev.setCurrentStreamRevision(String(current));
  if (expected.kind === 'exact') wev.setExpectedStreamPosition(String(expected.revision));
  else if (expected.kind === 'no_stream') wev.setExpectedNoStream(new GEmpty());
  else if (expected.kind === 'stream_exists') wev.setExpectedStreamExists(new GEmpty());
  else wev.setExpectedAny(new GEmpty());
  const detail = new Any();
  detail.pack(wev.serializeBinary(), 'event_store.client.WrongExpectedVersion');
  const status = new statusPb.Status();
  status.setCode(9); // FAILED_PRECONDITION, as the server reports it
  status.setMessage(`Append failed due to WrongExpectedVersion. Stream: ${stream}`);
  status.setDetails(detail);
  return status;
}

function appendExpected(o: streamsPb.AppendReq.Options): Expected {
  const C = streamsPb.AppendReq.Options.ExpectedStreamRevisionCase;
  switch (o.getExpectedStreamRevisionCase()) {
    case C.REVISION: return { kind: 'exact', revision: Number(o.getRevision()) };
    case C.NO_STREAM: return { kind: 'no_stream' };
    case C.STREAM_EXISTS: return { kind: 'stream_exists' };
    default: return { kind: 'any' };
  }
}

/** Streams/Append: the client-streaming path older servers offer (header, then one event per message). */
export function appendHandler(log: MemoryLog, faults: Faults) {
  return (call: grpc.ServerReadableStream<streamsPb.AppendReq, streamsPb.AppendResp>, callback: grpc.sendUnaryData<streamsPb.AppendResp>): void => {
    let options: streamsPb.AppendReq.Options | undefined;
    const events: Proposed[] = [];
    call.on('data', (req: streamsPb.AppendReq) => {
      if (req.hasOptions()) options = req.getOptions();
      else if (req.hasProposedMessage()) events.push(proposed(req.getProposedMessage()!));
    });
    call.on('end', () => {
      const fault = faults.take('Append');
      if (fault) return callback(faultError(fault));
      if (!options) return callback({ code: 3, details: 'missing append options' });
      const GEmpty = sharedPb.Empty;
      const expected = appendExpected(options);
      const out = log.append(streamName(options.getStreamIdentifier()), expected, events);
      const resp = new streamsPb.AppendResp();
      if (out.ok) {
        const success = new streamsPb.AppendResp.Success();
        if (out.currentRevision < 0) success.setNoStream(new GEmpty());
        else success.setCurrentRevision(String(out.currentRevision));
        const pos = new streamsPb.AppendResp.Position();
        pos.setCommitPosition(String(out.commit));
        pos.setPreparePosition(String(out.prepare));
        success.setPosition(pos);
        resp.setSuccess(success);
      } else {
        const w = new streamsPb.AppendResp.WrongExpectedVersion();
        if (out.currentRevision === null) w.setCurrentNoStream(new GEmpty());
        else w.setCurrentRevision(String(out.currentRevision));
        if (expected.kind === 'exact') w.setExpectedRevision(String(expected.revision));
        else if (expected.kind === 'no_stream') w.setExpectedNoStream(new GEmpty());
        else if (expected.kind === 'stream_exists') w.setExpectedStreamExists(new GEmpty());
        else w.setExpectedAny(new GEmpty());
        resp.setWrongExpectedVersion(w);
      }
      callback(null, resp);
    });
  };
}
