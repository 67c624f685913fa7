export { uiPlugin, type UiPluginOptions, type UpstreamStatus } from './ui-plugin';
export { LiveHub, type LiveHubOptions } from './live-hub';
export type { EventNotice } from './event-notice';
