import { expect } from 'chai';
import { redactUrl, redactUrlsIn, urlHoldsCredentials } from '../../src/core/errors';

describe('redactUrl / redactUrlsIn: URLs fit for messages, logs and the event log', () => {
  it('masks user name, password and credential-like query values; keeps the rest', () => {
    expect(redactUrl('mysql://root:pw@db:3306/openmcp')).to.equal('mysql://***:***@db:3306/openmcp');
    expect(redactUrl('https://ghp_Token@host/mcp')).to.equal('https://***@host/mcp');
    expect(redactUrl('https://host/mcp?api_key=k1&region=eu&access_token=t&X-Amz-Signature=s&page=2')).to.equal(
      'https://host/mcp?api_key=***&region=eu&access_token=***&X-Amz-Signature=***&page=2',
    );
    expect(redactUrl('http://127.0.0.1:8545')).to.equal('http://127.0.0.1:8545/');
    expect(redactUrl('not a url //user:pw@x')).to.equal('not a url //***@x');
    // A URL that does not parse because its password holds a / or # (base64, unencoded): all of it up to the last @.
    expect(redactUrl('mysql://openmcp:ab/cd+ef=@db:3306/openmcp')).to.equal('mysql://***@db:3306/openmcp');
    expect(redactUrl('kurrentdb://admin:p@ss@n1:2113,n2:2113')).to.equal('kurrentdb://***@n1:2113,n2:2113');
    // A space in the password of a cluster's connection string, which the KurrentDB client takes (was: shown whole).
    expect(redactUrl('kurrentdb://admin:s3c ret@n1:2113,n2:2113')).to.equal('kurrentdb://***@n1:2113,n2:2113');
  });

  it('keeps an MCP upstream URL\'s ${env:NAME} references as written (a name, no value: neither masked nor percent-encoded), masking what is beside them', () => {
    const t = 'https://mcp.example/s/${env:PATH_KEY}/mcp?api_key=${env:EXAMPLE_KEY}&region=eu';
    expect(redactUrl(t)).to.equal(t);
    expect(urlHoldsCredentials(t)).to.equal(false);
    expect(redactUrl('https://mcp.example/mcp?api_key=${env:K}&token=literal')).to.equal('https://mcp.example/mcp?api_key=${env:K}&token=***');
    expect(redactUrlsIn(`down (${t}): refused; again at ${t}.`)).to.equal(`down (${t}): refused; again at ${t}.`);
  });

  it('with pathKeys (logs), masks an API key in the path, where chain RPC providers take it (Infura /v3/<key>, Alchemy /v2/<key>, QuickNode /<token>/); keeps short or word-like segments, and the path of a URL kept for use', () => {
    const k = { pathKeys: true };
    expect(redactUrl('https://mainnet.infura.io/v3/0123456789abcdef0123456789abcdef', k)).to.equal('https://mainnet.infura.io/v3/***');
    expect(redactUrl('https://eth-mainnet.g.alchemy.com/v2/aB3dE_fGh1jKlMn0pQrStUvWx-Yz12', k)).to.equal('https://eth-mainnet.g.alchemy.com/v2/***');
    expect(redactUrl(`https://x.quiknode.pro/${'9f'.repeat(20)}/`, k)).to.equal('https://x.quiknode.pro/***/');
    expect(redactUrl('https://rpc.example/eth/mainnet/archive-node-primary', k)).to.equal('https://rpc.example/eth/mainnet/archive-node-primary');
    const msg = 'server response 401 Unauthorized (info={ "requestUrl": "https://mainnet.infura.io/v3/0123456789abcdef0123456789abcdef", "responseStatus": "401" })';
    expect(redactUrlsIn(msg, k)).to.not.include('0123456789abcdef');
    // An MCP upstream's URL is stored redacted and connected to from it: its path stays whole.
    expect(redactUrl('https://mcp.example/s/0123456789abcdef0123456789abcdef/mcp')).to.equal('https://mcp.example/s/0123456789abcdef0123456789abcdef/mcp');
  });

  it('with pathKeys, masks a key that a sentence\'s punctuation follows, and a key of letters only (a few Alchemy keys in a thousand have no digit)', () => {
    const k = { pathKeys: true };
    const key = 'aB3dE_fGh1jKlMn0pQrStUvWx-Yz12';
    for (const [before, after] of [['(', ')'], ['', ':'], ['', ','], ['', '.'], ['"', '";'], ['[', ']']]) {
      const out = redactUrlsIn(`failed ${before}https://eth-mainnet.g.alchemy.com/v2/${key}${after} retrying`, k);
      expect(out).to.equal(`failed ${before}https://eth-mainnet.g.alchemy.com/v2/***${after} retrying`);
    }
    expect(redactUrl('https://eth-mainnet.g.alchemy.com/v2/ABCDEFGHIJKLMNOPQRSTUVWXyzabcdef', k)).to.equal('https://eth-mainnet.g.alchemy.com/v2/***');
    // Word-like names stay: lower case with dashes, however long.
    expect(redactUrl('https://rpc.example/ethereum-mainnet-archive', k)).to.equal('https://rpc.example/ethereum-mainnet-archive');
  });

  it('finds the URLs inside a message (as fetch repeats the one it refuses)', () => {
    const msg = 'Request cannot be constructed from a URL that includes credentials: http://svc:S3cret@10.0.0.5/mcp, retry https://h/x?token=abc';
    const out = redactUrlsIn(msg);
    expect(out).to.not.include('S3cret').and.not.include('abc');
    expect(out).to.include('http://***:***@10.0.0.5/mcp').and.include('https://h/x?token=***');
    expect(redactUrlsIn('no url here')).to.equal('no url here');
  });
});
