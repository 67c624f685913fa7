/** The events topic of the topic contract (DESIGN.md): `<prefix>.events.v1`, prefix from KAFKA_TOPIC_PREFIX. */
export function eventsTopic(prefix = 'openmcp'): string {
  return `${prefix}.events.v1`;
}
