export { OpenMcpClient, type EventsQuery, type ListQuery, type TaskListQuery, type ToolCallListQuery } from './client';
export type { ClientOptions } from './transport';
export * from './errors';
export { readTaskAnswer, TaskAnswerError, type TaskAnswer } from './task-answer';
export { exportSubject, type ExportSubjectOptions, type SubjectExport } from './subject-export';
export { openSealedAnswer, recipientPublicKey, sealAnswer, SealedAnswerError, SEALED_ANSWER_SCHEME, type SealedAnswer } from '../core/sealed-answer';
export * as schemas from '../api/schemas';
export { clientFromEnvironment, type ClientEnvironment } from './from-env';
