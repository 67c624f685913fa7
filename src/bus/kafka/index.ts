export { KafkaBus, type KafkaBusOptions } from './kafka-bus';
export { eventsTopic } from './topic';
export { toKafkaMessage, fromKafkaMessage, EVENT_HEADERS, InvalidEventMessageError } from './event-message';
export { ensureEventsTopic, type EventsTopicSettings } from './ensure-topic';
export { KafkaTopicMissingError } from './kafka-topic-missing-error';
