'use strict';
// Pub/sub through node-redis and ioredis under each protocol: one connection
// subscribes to segment:test and psubscribes segment:*, another publishes 100
// messages (pipelined), and both subscriptions must see all of them in order.
// The tests of this file run one after another, so the channels are theirs.

const { test } = require('node:test');
const assert = require('node:assert/strict');
const { createClient } = require('redis');
const Redis = require('ioredis');
const { host, port } = require('./common');

const N = 100;
const CHANNEL = 'segment:test';
const PATTERN = 'segment:*';

// collector gathers [pattern, channel, message] triples and resolves done()
// once both subscriptions got N messages.
function collector() {
  const direct = [];
  const viaPattern = [];
  let wake;
  const full = new Promise((resolve) => { wake = resolve; });
  const check = () => { if (direct.length >= N && viaPattern.length >= N) wake(); };
  return {
    direct, viaPattern,
    onMessage(channel, message) { direct.push([channel, message]); check(); },
    onPMessage(pattern, channel, message) { viaPattern.push([pattern, channel, message]); check(); },
    async done() {
      let timer;
      const timeout = new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(
          `timeout: ${direct.length} messages, ${viaPattern.length} pmessages of ${N}`)), 5000);
      });
      try { await Promise.race([full, timeout]); } finally { clearTimeout(timer); }
    },
  };
}

function expectInOrder(got, tag) {
  const msgs = Array.from({ length: N }, (_, i) => `${tag} #${i}`);
  assert.deepEqual(got.direct, msgs.map((m) => [CHANNEL, m]));
  assert.deepEqual(got.viaPattern, msgs.map((m) => [PATTERN, CHANNEL, m]));
}

async function publishAll(publish, tag) {
  // Pipelined: every PUBLISH is sent before the first reply is read.
  const counts = await Promise.all(
    Array.from({ length: N }, (_, i) => publish(CHANNEL, `${tag} #${i}`)));
  assert.deepEqual(counts, Array(N).fill(2), 'PUBLISH answers the receivers: channel + pattern');
}

for (const RESP of [2, 3]) {
  test(`node-redis RESP${RESP} pub/sub`, async () => {
    const tag = `node-redis RESP${RESP}`;
    const pub = createClient({ socket: { host, port, reconnectStrategy: false }, RESP });
    pub.on('error', () => {});
    await pub.connect();
    const sub = pub.duplicate();
    sub.on('error', () => {});
    await sub.connect();
    try {
      assert.match(await sub.sendCommand(['CLIENT', 'INFO']), new RegExp(` resp=${RESP} `));
      const got = collector();
      await sub.subscribe(CHANNEL, (message, channel) => got.onMessage(channel, message));
      await sub.pSubscribe(PATTERN, (message, channel) => got.onPMessage(PATTERN, channel, message));
      if (RESP === 3) {
        // RESP3: messages are push frames, so the connection still runs commands.
        assert.equal(await sub.sendCommand(['PING']), 'PONG');
      }
      await publishAll((ch, m) => pub.publish(ch, m), tag);
      await got.done();
      expectInOrder(got, tag);

      await sub.unsubscribe(CHANNEL);
      await sub.pUnsubscribe(PATTERN);
      assert.equal(await pub.publish(CHANNEL, 'nobody listens'), 0);
    } finally {
      await sub.close();
      await pub.close();
    }
  });
}

for (const protocol of [2, 3]) {
  test(`ioredis RESP${protocol} pub/sub`, async () => {
    const tag = `ioredis RESP${protocol}`;
    const opts = { host, port, protocol, maxRetriesPerRequest: 0, retryStrategy: () => null };
    const pub = new Redis(opts);
    const sub = new Redis(opts);
    try {
      assert.match(await sub.call('CLIENT', 'INFO'), new RegExp(` resp=${protocol} `));
      const got = collector();
      sub.on('message', (channel, message) => got.onMessage(channel, message));
      sub.on('pmessage', (pattern, channel, message) => got.onPMessage(pattern, channel, message));
      assert.equal(await sub.subscribe(CHANNEL), 1);
      assert.equal(await sub.psubscribe(PATTERN), 2);
      await publishAll((ch, m) => pub.publish(ch, m), tag);
      await got.done();
      expectInOrder(got, tag);

      assert.equal(await sub.unsubscribe(CHANNEL), 1);
      assert.equal(await sub.punsubscribe(PATTERN), 0);
      assert.equal(await pub.publish(CHANNEL, 'nobody listens'), 0);
    } finally {
      sub.disconnect();
      await pub.quit();
    }
  });
}
