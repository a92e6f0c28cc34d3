import { readFileSync } from 'node:fs';

const TEMPLATE = new URL('./resizer.conf', import.meta.url);

export interface NginxFront {
  /** nginx's listen argument, e.g. `127.0.0.1:8081`. */
  listen: string;
  /** resizer's --cache folder. */
  cacheDir: string;
  /** resizer's address, `host:port`. */
  resizer: string;
  cacheControl?: string;
}

/** deploy/nginx/resizer.conf with its marked lines filled in: what the test and the bench run is the shipped file. */
export function nginxFrontServer(o: NginxFront): string {
  const lines: Array<[string, string]> = [
    ['listen 80;', `listen ${o.listen};`],
    ['root /srv/resizer/cache/.typed;', `root ${o.cacheDir}/.typed;`],
    ['proxy_pass http://127.0.0.1:8080;', `proxy_pass http://${o.resizer};`],
    ['"public, max-age=31536000, immutable"', JSON.stringify(o.cacheControl ?? 'public, max-age=31536000, immutable')],
  ];
  let conf = readFileSync(TEMPLATE, 'utf8');
  for (const [from, to] of lines) {
    if (!conf.includes(from)) throw new Error(`deploy/nginx/resizer.conf no longer has "${from}"`);
    conf = conf.replace(from, to);
  }
  return conf;
}

/** A whole nginx.conf around a server block, everything under `dir` (for tests and the bench, any user). */
export function nginxMainConfig(dir: string, server: string, workers: number | 'auto' = 1): string {
  return `${process.getuid?.() === 0 ? 'user root;' : ''}
worker_processes ${workers};
daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  keepalive_requests 1000000;
  client_body_temp_path ${dir}/body; proxy_temp_path ${dir}/proxy; fastcgi_temp_path ${dir}/fcgi;
  uwsgi_temp_path ${dir}/uwsgi; scgi_temp_path ${dir}/scgi;
${server}
}
`;
}
