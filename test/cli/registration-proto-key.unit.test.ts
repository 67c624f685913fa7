import { expect } from 'chai';
import { registrationOf } from '../../src/cli/mcp-servers';
import { ValidationError } from '../../src/core/errors';

/**
 * `--env` and `--header` pairs were gathered by assignment, which takes a name `__proto__` for the
 * object's prototype: the variable or header vanished from the registration without a word (and
 * the gateway refuses such a key in a body and in MCP_SERVERS_FILE). The CLI now refuses it.
 */
describe('openmcp mcp servers add: an --env or --header named __proto__ is refused, never silently dropped', () => {
  it('--env __proto__=…', () => {
    expect(() => registrationOf('files', { command: ['npx'], env: ['__proto__=${env:X}', 'A=${env:A}'] })).to.throw(ValidationError, /--env __proto__: /);
  });

  it('--header \'__proto__: …\'', () => {
    expect(() => registrationOf('remote', { url: 'http://h/mcp', header: ['__proto__: Bearer ${env:T}'] })).to.throw(ValidationError, /--header __proto__: /);
  });

  it('other names are kept as before', () => {
    expect(registrationOf('files', { command: ['npx'], env: ['proto=${env:X}'] })).to.deep.equal({ name: 'files', transport: 'stdio', command: 'npx', env: { proto: '${env:X}' } });
  });
});
