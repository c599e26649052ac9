'use strict';
// node-redis (the `redis` package, v6): RESP3 is its default (HELLO 3 at
// connect); `RESP: 2` makes it skip HELLO and speak RESP2. Under RESP3 it
// decodes maps as objects and doubles as numbers.

const { createClient } = require('redis');
const { host, port, conformance } = require('./common');

for (const RESP of [2, 3]) {
  conformance({
    name: `node-redis RESP${RESP}`,
    proto: RESP,
    connect: async () => {
      const c = createClient({ socket: { host, port, reconnectStrategy: false }, RESP });
      c.on('error', () => {}); // a failed command rejects its promise; nothing else is expected
      return c.connect();
    },
    call: (c, args) => c.sendCommand(args),
    close: (c) => c.close(),
    mapsAsObjects: RESP === 3,
    doublesAsNumbers: RESP === 3,
  });
}
