import { readFile } from 'node:fs/promises';
import type { AppRequest, AppResponse } from '../app.js';
import { BadRequest, expected, NotFound, ResizerError } from '../errors/index.js';
import type { ParseLimits } from '../ops/spec.js';
import type { SourceEntry, SourceStore } from '../storage/types.js';
import { buildSegment, parseSegment } from '../url/segment.js';

type Handler = (req: AppRequest) => Promise<AppResponse>;

/**
 * The static files stay in src/ and are read from there whether this module runs from dist/ or from src/ (tests):
 * plain HTML, CSS and browser JavaScript need no build step, and src/ sits beside dist/ in the package.
 */
const STATIC = new URL('../../src/playground/static/', import.meta.url);

/** Only this page's own files and the image URLs: no inline script, nothing from elsewhere. */
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const STATIC_FILES: Record<string, { file: string; type: string }> = {
  playground: { file: 'index.html', type: 'text/html; charset=utf-8' },
  'playground/app.js': { file: 'app.js', type: 'text/javascript; charset=utf-8' },
  'playground/style.css': { file: 'style.css', type: 'text/css; charset=utf-8' },
};

const DEFAULT_PAGE = 100;
const MAX_PAGE = 1000;

/**
 * Service routes (under `/_/`) of the playground: the page and its two files, `sources` (a paginated listing of
 * the source store) and `playground/canonical` (the canonical segment of what the controls spell, from the
 * same parser and builder as the server, so every URL the page shows is exactly the URL API).
 */
export function playgroundRoutes(sources: SourceStore, limits: ParseLimits): Record<string, Handler> {
  const routes: Record<string, Handler> = {
    sources: (req) => listSources(sources, req),
    'playground/canonical': async (req) => canonical(req, limits),
  };
  for (const [name, { file, type }] of Object.entries(STATIC_FILES)) {
    let body: Promise<Buffer> | undefined;
    routes[name] = async (req) => {
      body ??= readFile(new URL(file, STATIC));
      const bytes = await body;
      return {
        status: 200,
        headers: {
          'Content-Type': type, 'Content-Length': String(bytes.length), 'Cache-Control': 'no-cache',
          'Content-Security-Policy': CSP, 'X-Content-Type-Options': 'nosniff',
        },
        body: req.method === 'HEAD' ? undefined : bytes,
      };
    };
  }
  return routes;
}

function json(req: AppRequest, status: number, value: unknown): AppResponse {
  const body = JSON.stringify(value);
  return {
    status,
    headers: { 'Content-Type': 'application/json', 'Content-Length': String(Buffer.byteLength(body)), 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff' },
    body: req.method === 'HEAD' ? undefined : body,
  };
}

function queryOf(req: AppRequest): URLSearchParams {
  return new URLSearchParams(req.url.split('?')[1] ?? '');
}

/** `GET /_/sources?prefix=&after=&limit=`: `{ items: [{ key, size, lastModified }], next }`; `next` is the `after` of the next page. */
async function listSources(sources: SourceStore, req: AppRequest): Promise<AppResponse> {
  if (!sources.list) throw new NotFound('This source store cannot list its sources');
  const q = queryOf(req);
  const limitText = q.get('limit') ?? String(DEFAULT_PAGE);
  const limit = Number(limitText);
  if (!/^\d+$/.test(limitText) || limit < 1 || limit > MAX_PAGE) throw new BadRequest(expected(`an integer between 1 and ${MAX_PAGE}`, 'limit', limitText));
  const items: SourceEntry[] = [];
  let more = false;
  // One more than asked tells whether there is a next page; leaving the loop stops the listing there.
  for await (const entry of sources.list({ prefix: q.get('prefix') ?? '', after: q.get('after') ?? '', pageSize: limit + 1 })) {
    if (items.length === limit) { more = true; break; }
    items.push(entry);
  }
  return json(req, 200, {
    items: items.map((e) => ({ key: e.key, size: e.size, lastModified: e.lastModified.toISOString() })),
    next: more ? items[items.length - 1]!.key : null,
  });
}

/** `GET /_/playground/canonical?options=a&options=b`: `{ results: [{ options, segment } | { options, error }] }`. */
async function canonical(req: AppRequest, limits: ParseLimits): Promise<AppResponse> {
  const results = queryOf(req).getAll('options').map((options) => {
    try {
      return { options, segment: buildSegment(parseSegment(options, limits)) };
    } catch (err) {
      if (err instanceof ResizerError) return { options, error: err.message };
      throw err;
    }
  });
  return json(req, 200, { results });
}
