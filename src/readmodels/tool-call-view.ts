import type { ToolCallDoc } from '../../projections/tool-calls.projection';
import { parseJson } from '../../projections/sql-rows';
import type { ToolCallView } from './port';

/**
 * The API's view of a tool-call document. Payloads are shown parsed, as a task's steps show
 * them, and only when recorded (payload policy `store`): `argumentsJson`/`resultJson` are then
 * the canonical JSON whose SHA-256 is `argumentsHash`/`resultHash`.
 */
export function toolCallView(d: ToolCallDoc): ToolCallView {
  const v: ToolCallView = { id: d.id, tenant: d.tenant, serverId: d.serverId, server: d.server, tool: d.tool, status: d.status };
  if (d.taskId !== undefined) v.taskId = d.taskId;
  if (d.argumentsHash !== undefined) v.argumentsHash = d.argumentsHash;
  if (d.argumentsJson !== undefined) v.arguments = parseJson(d.argumentsJson);
  if (d.resultHash !== undefined) v.resultHash = d.resultHash;
  if (d.resultJson !== undefined) v.result = parseJson(d.resultJson);
  if (d.argumentsSealed !== undefined) v.argumentsSealed = d.argumentsSealed;
  if (d.resultSealed !== undefined) v.resultSealed = d.resultSealed;
  if (d.argumentsSaltSealed !== undefined) v.argumentsSaltSealed = d.argumentsSaltSealed;
  if (d.resultSaltSealed !== undefined) v.resultSaltSealed = d.resultSaltSealed;
  if (d.errorSaltSealed !== undefined) v.errorSaltSealed = d.errorSaltSealed;
  if (d.argumentsHashScheme !== undefined) v.argumentsHashScheme = d.argumentsHashScheme;
  if (d.resultHashScheme !== undefined) v.resultHashScheme = d.resultHashScheme;
  if (d.isError !== undefined) v.isError = d.isError;
  if (d.cached !== undefined) v.cached = d.cached;
  if (d.latencyUs !== undefined) v.latencyMs = Math.round(d.latencyUs / 1000);
  if (d.error !== undefined) v.error = d.error;
  if (d.requestedAt !== undefined) v.requestedAt = d.requestedAt;
  if (d.completedAt !== undefined) v.completedAt = d.completedAt;
  return v;
}
