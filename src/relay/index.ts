export { Relay, relayCheckpointName, type RelayOptions } from './relay';
export { RELAY_LAG_METRIC, trackRelayLag, type LagSource } from './relay-lag-gauge';
export { startRelayLeadership, type RelayLeadership, type StartRelayLeadershipParameters } from './relay-leadership';
