import { expect } from 'chai';
import { registrationOf } from '../../src/cli/mcp-servers';
import { ValidationError } from '../../src/core/errors';

/**
 * `--url 'https://…?api_key=${env:NAME}'` is taken as written; in double quotes (or none) the shell
 * turns `${env:NAME}` into '' and the gateway would be given `?api_key=`, an empty key it would
 * connect with (401) and record: the CLI says so, as it does for --env.
 */
describe('openmcp mcp servers add --url: ${env:NAME} in the URL', () => {
  it('is passed as written', () => {
    const url = 'https://mcp.example.com/mcp?api_key=${env:EXAMPLE_KEY}';
    expect(registrationOf('hosted', { url })).to.deep.equal({ name: 'hosted', transport: 'http', url });
  });

  it('what the shell leaves of it (an empty credential in the query) is refused, with the single-quoted form', () => {
    expect(() => registrationOf('hosted', { url: 'https://mcp.example.com/mcp?api_key=' })).to.throw(ValidationError, /--url: api_key is empty: .*single quotes: --url 'https:\/\/mcp\.example\.com\/mcp\?api_key=\$\{env:NAME\}'/);
    expect(() => registrationOf('hosted', { url: 'https://mcp.example.com/mcp?region=eu&token=' })).to.throw(ValidationError, /--url: token is empty/);
    // An empty value of another parameter is the server's business.
    expect(registrationOf('hosted', { url: 'https://mcp.example.com/mcp?q=' }).url).to.equal('https://mcp.example.com/mcp?q=');
  });
});
