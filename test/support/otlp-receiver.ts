import { createServer, type Server } from 'node:http';
import { gunzipSync } from 'node:zlib';

export type ReceivedSpan = {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  service: string;
  /** service.instance.id (host:pid): tells processes apart. */
  instance: string;
  roles?: string;
};

export type OtlpReceiver = {
  /** Give this as OTEL_EXPORTER_OTLP_ENDPOINT (spans arrive at `<endpoint>/v1/traces`). */
  endpoint: string;
  spans: ReceivedSpan[];
  close(): Promise<void>;
};

type AnyValue = { stringValue?: string; intValue?: string | number };
type KeyValue = { key: string; value: AnyValue };

/** OTLP/JSON carries ids as hex; be lenient with base64 (the protobuf-JSON mapping). */
function hexId(id: unknown): string {
  if (typeof id !== 'string' || !id) return '';
  return /^[0-9a-f]+$/i.test(id) ? id.toLowerCase() : Buffer.from(id, 'base64').toString('hex');
}

function attr(attrs: KeyValue[] | undefined, key: string): string | undefined {
  const v = attrs?.find((a) => a.key === key)?.value;
  return v?.stringValue ?? (v?.intValue !== undefined ? String(v.intValue) : undefined);
}

/**
 * A minimal OTLP/HTTP trace receiver (JSON encoding, what @opentelemetry/exporter-trace-otlp-http
 * sends): real processes export to it, a test reads `spans`. Protocol-level, so the SDK and its
 * exporter run unmodified.
 */
export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const spans: ReceivedSpan[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      try {
        let body = Buffer.concat(chunks);
        if (req.headers['content-encoding'] === 'gzip') body = gunzipSync(body);
        if (req.url?.startsWith('/v1/traces')) {
          const doc = JSON.parse(body.toString('utf8')) as {
            resourceSpans?: { resource?: { attributes?: KeyValue[] }; scopeSpans?: { spans?: { traceId: string; spanId: string; parentSpanId?: string; name: string; kind: number }[] }[] }[];
          };
          for (const rs of doc.resourceSpans ?? []) {
            const service = attr(rs.resource?.attributes, 'service.name') ?? '';
            const instance = attr(rs.resource?.attributes, 'service.instance.id') ?? '';
            const roles = attr(rs.resource?.attributes, 'openmcp.roles');
            for (const ss of rs.scopeSpans ?? [])
              for (const s of ss.spans ?? [])
                spans.push({ traceId: hexId(s.traceId), spanId: hexId(s.spanId), parentSpanId: hexId(s.parentSpanId) || undefined, name: s.name, kind: s.kind, service, instance, roles });
          }
        }
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      } catch {
        res.writeHead(400).end();
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    spans,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
