import { readFileSync } from 'node:fs';
import type { APIGatewayProxyEvent, APIGatewayProxyEventV2 } from 'aws-lambda';

/**
 * The event shapes as AWS documents them (test/lambda/events/*.json, the examples from the Lambda and API Gateway
 * developer guides), with the request line swapped in. Payload 2.0 carries the raw, still-encoded path; REST (1.0)
 * carries it decoded, so callers pass the path as a client would type it and each shape gets its own spelling.
 */
export type Shape = 'function-url' | 'http-api-v2' | 'rest-api-v1';
export const SHAPES: Shape[] = ['function-url', 'http-api-v2', 'rest-api-v1'];

function example<T>(name: string): T {
  return JSON.parse(readFileSync(new URL(`./events/${name}.json`, import.meta.url), 'utf8')) as T;
}

export interface RequestLine {
  method?: string;
  /** The path as sent on the wire: percent-encoded. */
  rawPath: string;
  headers?: Record<string, string>;
}

export function httpEvent(shape: Shape, { method = 'GET', rawPath, headers = {} }: RequestLine): APIGatewayProxyEventV2 | APIGatewayProxyEvent {
  if (shape === 'rest-api-v1') {
    const e = example<APIGatewayProxyEvent>(shape);
    const path = decodeURI(rawPath);
    // REST keeps header names as the client spelled them.
    return {
      ...e, httpMethod: method, path, resource: '/{proxy+}', body: null, headers,
      multiValueHeaders: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, [v]])),
      queryStringParameters: null, multiValueQueryStringParameters: null,
      requestContext: { ...e.requestContext, httpMethod: method, path },
    };
  }
  const e = example<APIGatewayProxyEventV2>(shape);
  const lower = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
  return {
    ...e, rawPath, rawQueryString: '', queryStringParameters: undefined, cookies: undefined, body: undefined, headers: lower,
    requestContext: { ...e.requestContext, http: { ...e.requestContext.http, method, path: decodeURIComponent(rawPath) } },
  };
}
