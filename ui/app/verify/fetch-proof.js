import { api } from '../api.js';
import { proofFileProblem } from './json-duplicate-key.js';

/**
 * An event's proof file from the gateway (GET /v1/events/:id/proof), refused as a dropped file is
 * when it names a key twice in one object: parsed from the answer's text, never response.json(),
 * which keeps the last copy silently while other readers take the first. The API's refusals
 * (PROOF_PENDING, NOT_FOUND, …) are thrown as api() throws them. Requires an event id (a UUID).
 * `text` is the answer as the gateway wrote it, to save as is (as `openmcp events proof` saves it).
 * @example const { proof, text, problem } = await fetchProofFile('01937a6e-7f00-7000-8000-000000000001')
 * @param {string} eventId
 * @param {(path: string) => Promise<string>} [getText] the answer's text; api() by default
 * @returns {Promise<{ proof: any, text: string, problem?: undefined } | { proof?: undefined, text?: undefined, problem: string }>}
 */
export async function fetchProofFile(eventId, getText = (path) => api(path, { text: true })) {
  const text = await getText(`/v1/events/${eventId}/proof`);
  const problem = proofFileProblem(text, `The gateway's answer for event ${eventId}`);
  return problem ? { problem } : { proof: JSON.parse(text), text };
}
