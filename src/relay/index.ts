export { Relay, relayCheckpointName, type RelayOptions, type RelayStall } from './relay';
export { RELAY_LAG_METRIC, trackRelayLag, type LagSource } from './relay-lag-gauge';
export { startRelayLeadership, type RelayLeadership, type StartRelayLeadershipParameters } from './relay-leadership';
export { relayReadiness, type RelayReadiness } from './relay-readiness';
export { RelayEventTooLargeError, RelayPublishError, RelayTopicError } from './relay-errors';
