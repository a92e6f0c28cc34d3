import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { fitsLambdaResponse, isHttpEvent, LAMBDA_RESPONSE_LIMIT, toAppRequest, toResult } from '../../src/lambda/events.js';
import { Forbidden } from '../../src/errors/index.js';
import { RequestGate } from '../../src/url/gate.js';
import { nodeHmac } from '../../src/url/node-hmac.js';
import { EDGE_SIGNATURE_HEADER, signatureSegment } from '../../src/url/signature.js';
import { httpEvent } from './lambda-events.js';

describe('Lambda event translation', () => {
  it('keeps the raw path and query of payload 2.0 and lower-cases REST header names', () => {
    const v2 = httpEvent('http-api-v2', { rawPath: '/300x/a%20b.jpg', headers: { Accept: 'image/webp' } }) as APIGatewayProxyEventV2;
    v2.rawQueryString = 'v=1';
    assert.deepEqual(toAppRequest(v2), { method: 'GET', url: '/300x/a%20b.jpg?v=1', headers: { accept: 'image/webp' } });
    const rest = httpEvent('rest-api-v1', { method: 'HEAD', rawPath: '/300x/a%20b%25.jpg', headers: { 'If-None-Match': '"x"' } });
    assert.deepEqual(toAppRequest(rest), { method: 'HEAD', url: '/300x/a%20b%25.jpg', headers: { 'if-none-match': '"x"' } });
  });

  it('drops a named HTTP API stage from rawPath, and only a whole leading segment', () => {
    const at = (rawPath: string, stage: string) => {
      const e = httpEvent('http-api-v2', { rawPath }) as APIGatewayProxyEventV2;
      e.requestContext.stage = stage;
      return toAppRequest(e).url;
    };
    assert.equal(at('/prod/300x/a.jpg', 'prod'), '/300x/a.jpg');
    assert.equal(at('/production/a.jpg', 'prod'), '/production/a.jpg');
    assert.equal(at('/300x/a.jpg', '$default'), '/300x/a.jpg');
  });

  it('takes the viewer-request function\'s signature header as the path\'s signature, which the gate then checks', () => {
    const KEY = 'edge-key-0123456789abcdef';
    const gate = new RequestGate({ maxOutputWidth: 8192, maxOutputHeight: 8192 }, { signingKeys: [KEY] }, undefined, nodeHmac);
    const at = (rawPath: string, signature?: string) =>
      toAppRequest(httpEvent('function-url', { rawPath, headers: signature ? { [EDGE_SIGNATURE_HEADER]: signature } : {} })).url;
    const vouched = signatureSegment('/150x150,cover,webp/a%20b.jpg', KEY, undefined, nodeHmac);
    assert.equal(at('/150x150,cover,webp/a%20b.jpg', vouched), `/${vouched}/150x150,cover,webp/a%20b.jpg`);
    assert.deepEqual(gate.parse(at('/150x150,cover,webp/a%20b.jpg', vouched)).sourceKey, 'a b.jpg');
    // For another path, from another key, or missing: refused as any unsigned or badly signed URL.
    assert.throws(() => gate.parse(at('/151x150,cover,webp/a%20b.jpg', vouched)), Forbidden);
    assert.throws(() => gate.parse(at('/150x150,cover,webp/a%20b.jpg', signatureSegment('/150x150,cover,webp/a%20b.jpg', 'another-key-0123456789', undefined, nodeHmac))), Forbidden);
    assert.throws(() => gate.parse(at('/150x150,cover,webp/a%20b.jpg')), Forbidden);
    // A path signed already keeps its own signature.
    const own = `/${signatureSegment('/1x/a.jpg', KEY, undefined, nodeHmac)}/1x/a.jpg`;
    assert.equal(at(own, vouched), own);
  });

  it('refuses events that are not HTTP', () => {
    assert.equal(isHttpEvent({ Records: [] }), false);
    assert.equal(isHttpEvent(null), false);
    assert.equal(isHttpEvent(httpEvent('function-url', { rawPath: '/a/b' })), true);
  });

  it('sends bytes as base64, text as is, and knows where 6 MB ends', () => {
    assert.deepEqual(toResult({ status: 200, headers: { A: 'b' }, body: Buffer.from([1, 2, 3]) }), { statusCode: 200, headers: { A: 'b' }, body: 'AQID', isBase64Encoded: true });
    assert.deepEqual(toResult({ status: 404, headers: {}, body: 'no' }), { statusCode: 404, headers: {}, body: 'no', isBase64Encoded: false });
    assert.deepEqual(toResult({ status: 304, headers: {} }), { statusCode: 304, headers: {}, body: '', isBase64Encoded: false });
    const limit = Math.floor((LAMBDA_RESPONSE_LIMIT - 16 * 1024) / 4) * 3;
    assert.equal(fitsLambdaResponse({ status: 200, headers: {}, body: Buffer.alloc(limit) }), true);
    assert.equal(fitsLambdaResponse({ status: 200, headers: {}, body: Buffer.alloc(limit + 3) }), false);
  });
});
