/**
 * The bounds of a connect timeout, the server's own as MCP_CONNECT_TIMEOUT_MS's (ms). A module of its
 * own, without zod: `openmcp`'s parser checks --connect-timeout-ms with it while it loads nothing else
 * of the event schemas.
 */
export const CONNECT_TIMEOUT_BOUNDS = { min: 1000, max: 300_000 } as const;
