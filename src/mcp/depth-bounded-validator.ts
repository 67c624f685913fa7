import { AjvJsonSchemaValidator } from '@modelcontextprotocol/sdk/validation/ajv';
import type { JsonSchemaType, JsonSchemaValidator, jsonSchemaValidator } from '@modelcontextprotocol/sdk/validation';
import { bodyDepth, MAX_RESULT_DEPTH } from '../core/body-depth';

/**
 * The upstream client's JSON Schema validator: the SDK's own (Ajv), except for a schema nested
 * deeper than MAX_RESULT_DEPTH. The SDK compiles each listed tool's outputSchema inside
 * tools/list, and Ajv compiles recursively: one some 3,500 levels deep exhausted the stack there,
 * failing the server's connect. Such a schema gets a validator every value fails; its tool is
 * left out of the catalog anyway (toolRecords), so it is never called.
 * @example new Client(info, { jsonSchemaValidator: new DepthBoundedValidator() })
 */
export class DepthBoundedValidator implements jsonSchemaValidator {
  private readonly ajv = new AjvJsonSchemaValidator();

  getValidator<T>(schema: JsonSchemaType): JsonSchemaValidator<T> {
    if (bodyDepth(schema, MAX_RESULT_DEPTH) <= MAX_RESULT_DEPTH) return this.ajv.getValidator<T>(schema);
    return () => ({ valid: false, data: undefined, errorMessage: `the tool's outputSchema nests deeper than ${MAX_RESULT_DEPTH} levels` });
  }
}
