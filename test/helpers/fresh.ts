import { request } from 'node:http';

export interface FreshResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** One request on a connection of its own (no pool): a closed listener shows as a refused connection. */
export function getFresh(url: string, headers: Record<string, string> = {}): Promise<FreshResponse> {
  return new Promise((resolve, reject) => {
    request(url, { agent: false, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    }).on('error', reject).end();
  });
}
