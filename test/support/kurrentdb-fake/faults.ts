import * as grpc from '@grpc/grpc-js';

export type FakeMethod = 'Read' | 'BatchAppend' | 'Append';

/** An error the fake answers with once, the way the server reports non-append failures. */
export type Fault = {
  method: FakeMethod;
  code: grpc.status;
  /** The server's `exception` trailer, e.g. 'access-denied', 'not-leader'. */
  exception?: string;
  message?: string;
};

/** Queued one-shot faults, so tests can see how a gRPC error surfaces through the client. */
export class Faults {
  private readonly queue: Fault[] = [];

  add(fault: Fault): void {
    this.queue.push(fault);
  }

  take(method: FakeMethod): Fault | undefined {
    const i = this.queue.findIndex((f) => f.method === method);
    return i < 0 ? undefined : this.queue.splice(i, 1)[0];
  }
}

export function faultError(f: Fault): Partial<grpc.StatusObject> {
  const metadata = new grpc.Metadata();
  if (f.exception) metadata.set('exception', f.exception);
  return { code: f.code, details: f.message ?? `injected ${f.exception ?? 'fault'}`, metadata };
}
