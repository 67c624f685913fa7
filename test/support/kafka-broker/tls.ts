import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The directory of the test-only CA and certificates (test/fixtures/kafka-tls/README.md says how they were made). */
export const KAFKA_TLS_FIXTURES = join(__dirname, '..', '..', 'fixtures', 'kafka-tls');

/** A file of the test TLS material, by name (`ca.pem`, `other-ca.pem`, `client.pem`, `client-key.pem`…). */
export const kafkaTlsFile = (name: string): string => join(KAFKA_TLS_FIXTURES, name);

/**
 * The broker's `tls` option with the test material: its certificate for localhost and 127.0.0.1,
 * signed by `ca.pem`; `mutual` also asks clients for a certificate that CA signed.
 * @example await startKafkaBroker({ tls: kafkaTestTls() })
 */
export function kafkaTestTls(mutual = false): { key: string; cert: string; ca?: string; requestCert?: boolean } {
  const read = (name: string) => readFileSync(kafkaTlsFile(name), 'utf8');
  return { key: read('server-key.pem'), cert: read('server.pem'), ...(mutual ? { ca: read('ca.pem'), requestCert: true } : {}) };
}
