import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { fitsLambdaResponse, isHttpEvent, LAMBDA_RESPONSE_LIMIT, toAppRequest, toResult } from '../../src/lambda/events.js';
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
