export * from './init-tracing';
export * from './with-span';
export * from './component-spans';
export * from './event-trace-contexts';
export * from './traced-event-store';
export * from './kafka-trace-headers';
export * from './http-tracing';
export * from './log-mixin';
