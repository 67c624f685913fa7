export * from './common';
export * from './tasks';
export * from './tool-calls';
export * from './events';
export * from './batches';
export * from './mcp';
export * from './keys';
export * from './system';
export { ProblemSchema, type Problem } from '../problem';
