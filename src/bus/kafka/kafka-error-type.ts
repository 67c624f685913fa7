/**
 * The broker's error in kafkajs's wrapping (KafkaJSNonRetriableError, NumberOfRetriesExceeded… hold
 * the protocol error as their cause): the first error of the cause chain with a `type` (Kafka's
 * error name, e.g. GROUP_AUTHORIZATION_FAILED), or undefined.
 * @example kafkaProtocolError(err)?.type // 'INVALID_SESSION_TIMEOUT'
 */
export function kafkaProtocolError(err: unknown): { type: string; message?: unknown } | undefined {
  for (let e = err as { type?: unknown; cause?: unknown } | undefined, depth = 0; e && depth < 10; e = e.cause as typeof e, depth++) {
    if (typeof e.type === 'string') return e as { type: string; message?: unknown };
  }
  return undefined;
}

/** The Kafka error name kafkajs's error carries, on itself or on its cause (kafkaProtocolError). */
export function kafkaErrorType(err: unknown): string | undefined {
  return kafkaProtocolError(err)?.type;
}
