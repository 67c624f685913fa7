import { OpenMcpError } from '../core/errors';

/** A subject id no data key was ever made for (it made no call under MCP_PAYLOAD_POLICY=encrypted here). */
export class SubjectNotFoundError extends OpenMcpError {
  constructor(subject: string) {
    super('SUBJECT_NOT_FOUND', `subject ${subject} has no data key: it made no tool call under MCP_PAYLOAD_POLICY=encrypted (subject ids are <tenant>:<kind>:<actor id>)`, {
      status: 404,
      details: { field: 'subject' },
    });
  }
}
