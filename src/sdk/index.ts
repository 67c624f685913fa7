export { OpenMcpClient } from './client';
export type { ClientOptions } from './transport';
export * from './errors';
export * as schemas from '../api/schemas';
export { clientFromEnvironment, type ClientEnvironment } from './from-env';
