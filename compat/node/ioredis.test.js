'use strict';
// ioredis v6: RESP3 is its default (HELLO 3 at connect, `protocol: 3`), with
// replyMapping "legacy" (maps as flat arrays, doubles as strings, as under
// RESP2) unless replyMapping "resp3" asks for objects and numbers.
// `protocol: 2` skips HELLO.

const Redis = require('ioredis');
const { host, port, conformance } = require('./common');

const configs = [
  { protocol: 2 },
  { protocol: 3 },
  { protocol: 3, replyMapping: 'resp3' },
];

for (const opt of configs) {
  const resp3Mapping = opt.replyMapping === 'resp3';
  conformance({
    name: `ioredis RESP${opt.protocol}${resp3Mapping ? ' replyMapping resp3' : ''}`,
    proto: opt.protocol,
    connect: async () => {
      const c = new Redis({ host, port, ...opt, lazyConnect: true, maxRetriesPerRequest: 0,
        retryStrategy: () => null });
      await c.connect();
      return c;
    },
    call: (c, args) => c.call(...args),
    close: (c) => c.quit(),
    mapsAsObjects: resp3Mapping,
    doublesAsNumbers: resp3Mapping,
  });
}
