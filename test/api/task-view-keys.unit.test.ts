import { expect } from 'chai';
import { serializerCompiler } from 'fastify-type-provider-zod';
import { TaskView } from '../../src/api/schemas/tasks';

/**
 * A step's arguments are the model's own (REST refuses a body with a `__proto__` key, a model's
 * tool call may hold one, and the audit records it). GET /v1/tasks/:id serializes through the
 * view's zod schema, and the SDK parses its answer with the same: a `z.record` there rebuilt the
 * arguments by assignment, dropping such a key from the answer while the log held it.
 */
describe('GET /v1/tasks/:id shows a step\'s arguments whole, a key named __proto__ included', () => {
  const args = '{"__proto__":{"admin":true},"path":"/a"}';
  const task = () => ({
    id: '0193a000-0000-7000-8000-000000000001',
    tenant: 'acme',
    status: 'completed',
    steps: [{ index: 0, tool: 'files__write', arguments: JSON.parse(args) as Record<string, unknown>, status: 'completed' }],
    createdAt: '2026-12-06T00:00:00.000Z',
    updatedAt: '2026-12-06T00:00:00.000Z',
    revision: 3,
  });

  it('the server\'s answer (fastify-type-provider-zod\'s serializer) keeps it', () => {
    const serialize = serializerCompiler({ schema: TaskView, method: 'GET', url: '/v1/tasks/:id' });
    const text = serialize(task()) as string;
    expect(JSON.stringify((JSON.parse(text) as { steps: { arguments: unknown }[] }).steps[0].arguments)).to.equal(args);
  });

  it('the SDK\'s reading of the answer (TaskView.parse) keeps it', () => {
    const parsed = TaskView.parse(JSON.parse(JSON.stringify(task())));
    expect(JSON.stringify(parsed.steps[0].arguments)).to.equal(args);
    expect(({} as Record<string, unknown>).admin, 'no prototype was touched').to.equal(undefined);
  });

  it('arguments that are not an object are still refused by the schema', () => {
    expect(TaskView.safeParse({ ...task(), steps: [{ ...task().steps[0], arguments: [1] }] }).success).to.equal(false);
  });
});
