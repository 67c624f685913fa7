import * as grpc from '@grpc/grpc-js';
import { featuresPb, ServerFeaturesService, StreamsService } from './protocol';
import { MemoryLog } from './memoryLog';
import { Faults, type Fault } from './faults';
import { appendHandler, batchAppendHandler } from './appendHandlers';
import { readHandler } from './readHandler';

export type { Fault } from './faults';

export type KurrentFake = {
  /** A connection string the client accepts: `kurrentdb://127.0.0.1:PORT?tls=false`. */
  url: string;
  port: number;
  /** Answer the next call of `fault.method` with this gRPC error instead. */
  failNext(fault: Fault): void;
  /** Write a record straight into the log, e.g. a system event ($-type) the adapter must skip. */
  seed(stream: string, type: string, data?: unknown): void;
  /** How many times each Streams method was called, to tell which append path the client took. */
  calls: Record<string, number>;
  /** The `authorization` header of each Streams call, by method (none: the call had none), to tell which credentials the client sent. */
  authorizations: Record<string, (string | undefined)[]>;
  /** The storage, to hand to a restarted fake (`startKurrentFake({ port, log })`). */
  log: MemoryLog;
  stop(): Promise<void>;
};

export type KurrentFakeOptions = {
  /** Advertise BatchAppend (default true). Off, the client falls back to client-streaming Append. */
  batchAppend?: boolean;
  /** Listen on this port (default: an ephemeral one), e.g. to come back where a stopped fake was. */
  port?: number;
  /**
   * Serve this log (default: a fresh one), e.g. a stopped fake's `log`, as a restarted server
   * keeps its data, and forgets the recent ids its 'any' idempotency check remembered.
   */
  log?: MemoryLog;
  /** The server's MaxAppendSize in bytes (BatchAppend only; default: none). Real servers default to 1 MiB. */
  maxAppendSize?: number;
};

/** Methods advertised by ServerFeatures; BatchAppend makes the client take its modern append path. */
function supportedMethods(batchAppend: boolean): featuresPb.SupportedMethods {
  const methods = ['read', 'append', ...(batchAppend ? ['batchappend'] : [])];
  const out = new featuresPb.SupportedMethods();
  out.setEventStoreServerVersion('24.10.0');
  out.setMethodsList(
    methods.map((m) => new featuresPb.SupportedMethod().setServiceName('event_store.client.streams.streams').setMethodName(m)),
  );
  return out;
}

/**
 * An in-memory KurrentDB speaking the real gRPC protocol (v1 Streams and ServerFeatures) to the
 * real client, on 127.0.0.1 with an ephemeral port and no TLS. One log per fake.
 * @example const fake = await startKurrentFake(); const client = KurrentDBClient.connectionString(fake.url);
 */
export async function startKurrentFake(options: KurrentFakeOptions = {}): Promise<KurrentFake> {
  const fresh = !options.log;
  const log = options.log ?? new MemoryLog();
  if (!fresh) log.forgetRecentIds();
  const faults = new Faults();
  const server = new grpc.Server();
  server.addService(ServerFeaturesService, {
    getSupportedMethods: (_call: unknown, cb: grpc.sendUnaryData<featuresPb.SupportedMethods>) => cb(null, supportedMethods(options.batchAppend ?? true)),
  });
  const calls: Record<string, number> = {};
  const authorizations: Record<string, (string | undefined)[]> = {};
  const counted = <H extends (...args: never[]) => void>(name: string, h: H) =>
    ((...args: Parameters<H>) => {
      calls[name] = (calls[name] ?? 0) + 1;
      const header = (args[0] as { metadata?: grpc.Metadata } | undefined)?.metadata?.get('authorization')[0];
      (authorizations[name] ??= []).push(header === undefined ? undefined : String(header));
      h(...args);
    }) as H;
  server.addService(StreamsService, {
    read: counted('Read', readHandler(log, faults)),
    append: counted('Append', appendHandler(log, faults)),
    batchAppend: counted('BatchAppend', batchAppendHandler(log, faults, options.maxAppendSize)),
    delete: (_c: unknown, cb: grpc.sendUnaryData<never>) => cb({ code: grpc.status.UNIMPLEMENTED, details: 'not in the fake' }),
    tombstone: (_c: unknown, cb: grpc.sendUnaryData<never>) => cb({ code: grpc.status.UNIMPLEMENTED, details: 'not in the fake' }),
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`127.0.0.1:${options.port ?? 0}`, grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  // A fresh real server already holds system records; so does the fake, so readers must skip them.
  if (fresh) log.append('$settings', { kind: 'any' }, [systemRecord('$settings')]);
  return {
    // discoveryInterval: the client's reads (its native part) wait that long before they first
    // connect, 500 ms by default: on every new client, in every test. Reconnects retry as often.
    url: `kurrentdb://127.0.0.1:${port}?tls=false&discoveryInterval=10`,
    port,
    calls,
    authorizations,
    log,
    failNext: (fault) => faults.add(fault),
    seed: (stream, type, data = {}) => {
      log.append(stream, { kind: 'any' }, [{ ...systemRecord(type), data: Buffer.from(JSON.stringify(data)) }]);
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.forceShutdown();
        resolve();
      }),
  };
}

function systemRecord(type: string) {
  return {
    id: crypto.randomUUID(),
    type,
    contentType: 'application/json',
    data: Buffer.from('{}'),
    customMetadata: new Uint8Array(),
  };
}
