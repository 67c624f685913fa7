import { expect } from 'chai';
import { Writable } from 'node:stream';
import { createLogger } from '../../src/api/logger';

describe('createLogger', () => {
  it('writes no URL credential an error carries (ethers repeats the chain RPC URL in its message and info.requestUrl; was: logged as is by "anchorer error (will retry)")', async () => {
    let out = '';
    const stream = new Writable({ write: (chunk, _enc, done) => ((out += String(chunk)), done()) });
    const url = 'https://rpcuser:S3cretPw@eth-mainnet.g.alchemy.com/v2/aB3dE_fGh1jKlMn0pQrStUvWx-Yz12';
    const err = Object.assign(new Error(`server response 401 Unauthorized (info={ "requestUrl": "${url}" }, code=SERVER_ERROR)`), {
      code: 'SERVER_ERROR',
      info: { requestUrl: url, responseStatus: '401 Unauthorized' },
    });
    createLogger('info', stream).warn({ err, role: 'anchorer' }, 'anchorer error (will retry)');
    expect(out).to.not.include('S3cretPw').and.not.include('aB3dE_fGh1jKlMn0pQrStUvWx-Yz12').and.not.include('rpcuser');
    const line = JSON.parse(out);
    expect(line.err.code).to.equal('SERVER_ERROR');
    expect(line.err.info.requestUrl).to.equal('https://***:***@eth-mainnet.g.alchemy.com/v2/***');
    expect(line.role).to.equal('anchorer');
  });
});
