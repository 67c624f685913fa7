import { expect } from 'chai';
import { envProblems, envRecord, missingEnvVariables, resolveEnv } from '../../src/mcp/upstream-env';

describe('MCP stdio env templates (src/mcp/upstream-env)', () => {
  it('records every name and the templates, never a literal value', () => {
    expect(envRecord({ TOKEN: '${env:GH}', MODE: 'secret-literal', DSN: 'pg://a:${env:PG}@db' })).to.deep.equal({
      envKeys: ['DSN', 'MODE', 'TOKEN'],
      templates: { TOKEN: '${env:GH}', DSN: 'pg://a:${env:PG}@db' },
    });
    expect(envRecord({ MODE: 'on' })).to.deep.equal({ envKeys: ['MODE'] });
  });

  it('resolves templates from the given environment, keeps literals, and names the variable (never a value) when it cannot', () => {
    expect(resolveEnv({ A: 'x-${env:V}-${env:W}', B: 'lit' }, { V: 'v1', W: 'w1' })).to.deep.equal({ A: 'x-v1-w1', B: 'lit' });
    expect(() => resolveEnv({ A: '${env:V}' }, {})).to.throw(/env A: environment variable V is not set on this gateway/);
    expect(() => resolveEnv({ A: '${env:V}' }, { V: '' })).to.throw(/V is not set/);
    try {
      resolveEnv({ A: '${env:V}' }, { V: 'sec\0ret' });
      expect.fail('expected a throw');
    } catch (err) {
      expect((err as Error).message).to.include('env A: environment variable V holds a NUL').and.not.include('sec');
    }
    expect(missingEnvVariables({ A: '${env:V} ${env:W}', B: 'lit' }, { W: '1' })).to.deep.equal([{ name: 'A', variable: 'V' }]);
  });

  it('REST refuses literals; the file and in-process callers keep them; references are checked either way', () => {
    expect(envProblems({ MODE: 'on' }, 'stdio', 'keep')).to.deep.equal([]);
    expect(envProblems({ MODE: 'on' }, 'stdio', 'refuse')[0]).to.deep.include({ path: ['env', 'MODE'] });
    expect(envProblems({ MODE: 'on' }, 'stdio', 'refuse')[0].message).to.include('"${env:MODE}"');
    expect(envProblems({ T: '${env:X}' }, 'stdio', 'refuse')).to.deep.equal([]);
    expect(envProblems({ T: '${ENV:X}' }, 'stdio', 'keep')[0].message).to.include('not a valid reference');
    expect(envProblems({ T: '${env:X}\n' }, 'stdio', 'keep')[0].message).to.include('not a valid reference');
    expect(envProblems({ MODE: 'on' }, 'http', 'keep')).to.deep.equal([]);
    expect(envProblems({ T: '${env:X}' }, 'http', 'keep')).to.deep.equal([{ path: ['env'], message: 'env is for stdio servers (an http or sse server takes headers)' }]);
    expect(envProblems({ MODE: 'on' }, 'sse', 'refuse')[0].path).to.deep.equal(['env']);
  });
});
