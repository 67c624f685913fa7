import { OpenMcpError } from '../core/errors';

/** A subject id no data key was ever made for (no call or task of it under MCP_PAYLOAD_POLICY=encrypted here): not that nothing of it is recorded. */
export class SubjectNotFoundError extends OpenMcpError {
  constructor(subject: string) {
    super('SUBJECT_NOT_FOUND', `subject ${subject} has no data key: it made no tool call and submitted no task under MCP_PAYLOAD_POLICY=encrypted here (what MCP_PAYLOAD_POLICY=store or hash-only recorded has no key to erase; subject ids are <tenant>:<kind>:<actor id>)`, {
      status: 404,
      details: { field: 'subject' },
    });
  }
}
