import { expect } from 'chai';
import fc from 'fast-check';
import { resolveUrl, shownUrl, urlTemplateProblem, withoutUrlValues, withoutUrlValuesIn } from '../../src/mcp/upstream-url';

describe('upstream URL templates (${env:NAME} in an http/sse upstream URL)', () => {
  const t = 'https://mcp.example.com/s/${env:P}/mcp?api_key=${env:K}';

  it('resolves each reference from the environment given; a URL without one is used as it is', () => {
    expect(resolveUrl(t, { P: 'abc-1', K: 'k_2.~%2F' })).to.equal('https://mcp.example.com/s/abc-1/mcp?api_key=k_2.~%2F');
    expect(resolveUrl('https://h/mcp?api_key=plain', {})).to.equal('https://h/mcp?api_key=plain');
  });

  it('an unset variable, or a value that would change the URL, fails naming the variable and never the value', () => {
    for (const [env, problem] of [
      [{ P: 'x' }, 'unset'],
      [{ P: 'x', K: 'secret/../admin' }, 'unusable'],
      [{ P: 'x', K: 'secret&admin=1' }, 'unusable'],
      [{ P: 'x', K: 'secret#frag' }, 'unusable'],
      [{ P: 'x', K: 'a+b' }, 'unusable'],
      [{ P: 'x', K: 'bad%zz' }, 'unusable'],
      [{ P: 'x', K: '..' }, 'unusable'],
      [{ P: 'x', K: '.%2E' }, 'unusable'],
    ] as const) {
      let err: (Error & { details?: Record<string, unknown> }) | undefined;
      try {
        resolveUrl(t, env);
      } catch (e) {
        err = e as Error & { details?: Record<string, unknown> };
      }
      expect(err?.details, JSON.stringify(env)).to.deep.include({ variable: 'K', problem });
      expect(err?.message).to.include('K');
      if (env.K && env.K.length > 2) expect(err?.message).to.not.include(env.K);
    }
  });

  it('property: a value of URL-component characters (not dots alone) resolves to a URL whose structure (host, path segments, query keys) the template fixed', () => {
    const component = fc.stringMatching(/^(?:[A-Za-z0-9\-._~]|%[0-9A-F]{2})+$/);
    fc.assert(
      fc.property(component, component, (p, k) => {
        // Dots alone are refused (a path's . or ..): above.
        fc.pre(![p, k].some((v) => /^(?:\.|%2e)+$/i.test(v)));
        const u = new URL(resolveUrl(t, { P: p, K: k }));
        return u.host === 'mcp.example.com' && u.pathname.split('/').length === 4 && [...u.searchParams.keys()].join() === 'api_key' && u.hash === '';
      }),
    );
  });

  it('shows a template as written, any other URL masked; error text names the reference in place of a value', () => {
    expect(shownUrl(t)).to.equal(t);
    expect(shownUrl('https://h/mcp?api_key=abc')).to.equal('https://h/mcp?api_key=***');
    expect(withoutUrlValues('POST https://mcp.example.com/s/pathvalue/mcp?api_key=key%2Fvalue: 404 (key/value)', t, { P: 'pathvalue', K: 'key%2Fvalue' })).to.equal(
      'POST https://mcp.example.com/s/${env:P}/mcp?api_key=${env:K}: 404 (${env:K})',
    );
    // A short value is no secret, and replacing it would garble the text.
    expect(withoutUrlValues('HTTP 401', t, { P: '401', K: '1' })).to.equal('HTTP 401');
  });

  it("an error (its cause, message, stack and fields) and an upstream's error data lose the values too", () => {
    const env = { P: 'pathvalue', K: 'keyvalue' };
    const sdk = Object.assign(new Error('Error POSTing to endpoint (HTTP 404): Cannot POST /s/pathvalue/mcp'), { code: 404, body: 'keyvalue' });
    const err = withoutUrlValuesIn(new TypeError('fetch failed', { cause: sdk }), t, env);
    expect([err.cause === sdk, sdk.message, sdk.stack?.split('\n')[0], sdk.body, sdk.code]).to.deep.equal([
      true,
      'Error POSTing to endpoint (HTTP 404): Cannot POST /s/${env:P}/mcp',
      'Error: Error POSTing to endpoint (HTTP 404): Cannot POST /s/${env:P}/mcp',
      '${env:K}',
      404,
    ]);
    expect(JSON.stringify(sdk.stack)).to.not.include('pathvalue');
    expect(withoutUrlValuesIn({ hint: ['your key keyvalue'], n: 1 }, t, env)).to.deep.equal({ hint: ['your key ${env:K}'], n: 1 });
    // A URL without references: nothing to hide, nothing changed.
    const data = { hint: 'keyvalue' };
    expect(withoutUrlValuesIn(data, 'https://h/mcp?k=keyvalue', env)).to.equal(data);
  });

  it('a template is taken only with references in the path or query, and no credential written as such', () => {
    expect(urlTemplateProblem(t)).to.equal(undefined);
    expect(urlTemplateProblem('https://${env:H}/mcp')).to.match(/path or the query only/);
    expect(urlTemplateProblem('https://h/mcp#${env:K}')).to.match(/fragment/);
    expect(urlTemplateProblem('https://h/mcp?api_key=${env:K}&token=abc')).to.match(/by reference too/);
    expect(urlTemplateProblem('https://h/mcp?api_key=${K}')).to.match(/not a valid reference/);
    expect(urlTemplateProblem('ws://h/${env:K}')).to.match(/http or https/);
  });
});
