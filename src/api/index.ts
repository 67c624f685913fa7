export { buildApp } from './build-app';
export type { AppDeps } from './deps';
export * from './services';
export * from './errors';
export { createLogger, REDACT_PATHS } from './logger';
export { stdoutLogDestination } from './stdout-log-destination';
export { ProblemSchema, PROBLEM_CONTENT_TYPE, type Problem } from './problem';
