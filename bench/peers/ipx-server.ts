/**
 * Peer: the ipx package as its docs serve it (createIPX + file-system storage + createIPXNodeServer) on a
 * plain node:http server. ipx keeps no result cache: every request reads the source and resizes.
 * Usage: node --import tsx bench/peers/ipx-server.ts PORT DIR
 */
import { createServer } from 'node:http';
import { createIPX, createIPXNodeServer, ipxFSStorage } from 'ipx';

const [port, dir] = process.argv.slice(2);
if (!port || !dir) throw new Error('usage: ipx-server.ts PORT DIR');
const ipx = createIPX({ storage: ipxFSStorage({ dir }) });
createServer(createIPXNodeServer(ipx)).listen(Number(port), '127.0.0.1');
