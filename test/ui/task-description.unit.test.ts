import { expect } from 'chai';

// ui/app is plain ES modules (ui/package.json: type module): the very file the dashboard serves.
const MODULE: string = '../../ui/app/task-description.js';
type Task = { instruction?: string; instructionErased?: true; steps: { tool: string }[] };
const load = async () => (await import(MODULE)) as { taskDescription(t: Task): string };

describe("dashboard task list: a task's one-line description", () => {
  it('is its instruction, else its tools', async () => {
    const { taskDescription } = await load();
    expect(taskDescription({ instruction: 'reverse hi', steps: [{ tool: 'examples__echo' }] })).to.equal('reverse hi');
    expect(taskDescription({ steps: [{ tool: 'examples__echo' }, { tool: 'remote__reverse' }] })).to.equal('examples__echo, remote__reverse');
  });

  it('says an erased instruction was erased (MCP_PAYLOAD_POLICY=encrypted, its key deleted), not "(no steps)", as the task page does', async () => {
    const { taskDescription } = await load();
    expect(taskDescription({ instructionErased: true, steps: [] })).to.equal('(instruction erased, only its hash)');
    expect(taskDescription({ instructionErased: true, steps: [{ tool: 'examples__echo' }] })).to.equal('examples__echo (instruction erased, only its hash)');
  });
});
