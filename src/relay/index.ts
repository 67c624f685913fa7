export { Relay, relayCheckpointName, type RelayOptions } from './relay';
export { RELAY_LAG_METRIC, trackRelayLag, type LagSource } from './relay-lag-gauge';
