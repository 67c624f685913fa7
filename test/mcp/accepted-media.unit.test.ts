import { expect } from 'chai';
import { acceptedMedia } from '../../src/mcp/accepted-media';

describe('acceptedMedia', function () {
  it('reads named types, wildcards, weights and the absent header', function () {
    expect(acceptedMedia(undefined)).to.deep.equal({ json: true, sse: true });
    expect(acceptedMedia('')).to.deep.equal({ json: true, sse: true });
    expect(acceptedMedia('application/json, text/event-stream')).to.deep.equal({ json: true, sse: true });
    expect(acceptedMedia('Application/JSON; charset=utf-8')).to.deep.equal({ json: true, sse: false });
    expect(acceptedMedia('text/event-stream')).to.deep.equal({ json: false, sse: true });
    expect(acceptedMedia('*/*')).to.deep.equal({ json: true, sse: true });
    expect(acceptedMedia('application/*')).to.deep.equal({ json: true, sse: false });
    expect(acceptedMedia('text/*, application/json;q=0.5')).to.deep.equal({ json: true, sse: true });
    expect(acceptedMedia('*/*, text/event-stream;q=0')).to.deep.equal({ json: true, sse: false });
    expect(acceptedMedia('text/html')).to.deep.equal({ json: false, sse: false });
    expect(acceptedMedia(['application/json', 'text/event-stream'])).to.deep.equal({ json: true, sse: true });
    expect(acceptedMedia('application/json;charset=UTF-8, text/event-stream;q=0.5')).to.deep.equal({ json: true, sse: true });
    expect(acceptedMedia('application/json;q=0, */*')).to.deep.equal({ json: false, sse: true });
  });
});
