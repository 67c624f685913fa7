import { AjvJsonSchemaValidator } from '@modelcontextprotocol/sdk/validation/ajv';
import type { JsonSchemaType, JsonSchemaValidator, jsonSchemaValidator } from '@modelcontextprotocol/sdk/validation';
import { bodyDepth, MAX_RESULT_DEPTH } from '../core/body-depth';

/**
 * The upstream client's JSON Schema validator (the SDK's Client uses it for tools' outputSchema
 * only): the SDK's own (Ajv), except for a schema nested deeper than MAX_RESULT_DEPTH. The SDK
 * compiles each listed tool's outputSchema inside tools/list, and Ajv compiles recursively: one
 * some 3,500 levels deep exhausted the stack there, failing the server's connect. Such a schema gets a validator every value fails; its tool is
 * left out of the catalog anyway (toolRecords), so it is never called. A value deeper than that is
 * not validated (it is withheld as it arrives: Upstream.call).
 * @example new Client(info, { jsonSchemaValidator: new DepthBoundedValidator() })
 */
export class DepthBoundedValidator implements jsonSchemaValidator {
  private readonly ajv = new AjvJsonSchemaValidator();

  getValidator<T>(schema: JsonSchemaType): JsonSchemaValidator<T> {
    if (bodyDepth(schema, MAX_RESULT_DEPTH) > MAX_RESULT_DEPTH) {
      return () => ({ valid: false, data: undefined, errorMessage: `the tool's outputSchema nests deeper than ${MAX_RESULT_DEPTH} levels` });
    }
    const validate = this.ajv.getValidator<T>(schema);
    // A schema that refers to itself is followed as deep as the value goes. A value too deep for
    // the audit is not validated: the Upstream withholds it (ResultTooDeepError) as soon as the SDK
    // returns it, rather than pass the SDK's stack overflow on as the upstream's -32602.
    return (input) => (bodyDepth(input, MAX_RESULT_DEPTH) > MAX_RESULT_DEPTH ? { valid: true, data: input as T, errorMessage: undefined } : validate(input));
  }
}
