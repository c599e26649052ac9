'use strict';
// Pub/sub through node-redis and ioredis under each protocol: one connection
// subscribes to segment:test and psubscribes segment:*, another publishes 100
// messages (pipelined), and both subscriptions must see all of them in order.
// Then segment notifications: one connection subscribes to segment:vip and
// psubscribes segment:*, another runs SEGMENT.CREATE vip "tier:gold" and
// writes that make entities enter and exit, and both subscriptions must get
// the JSON enter/exit messages in order with consecutive versions.
// The tests of this file run one after another, so the channels, the segment
// vip and the field tier are theirs: no other file may create segments.

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

// Segment notifications.

const SEGMENT = 'vip';
const SEGMENT_CHANNEL = `segment:${SEGMENT}`;
const SEGMENT_TIMEOUT = 10000; // ms; the server may run under -race
const EVENT_KEYS = ['segment', 'key', 'change', 'version', 'time'];

// segmentWrites is the script of writes of one test, on keys of its own, and
// a model of the entities that gives each write's reply and the changes of
// vip ("tier:gold") it causes, as [key, 'enter'|'exit'].
function segmentWrites(tag) {
  const key = (i) => `${tag}:u:${i}`;
  const entities = new Map(); // key -> { tier, visits }
  const writes = [];
  const member = (k) => entities.get(k)?.tier === 'gold';
  const set = (i, tier) => {
    const k = key(i);
    const was = member(k);
    const e = entities.get(k) ?? {};
    const reply = e.tier === tier ? 0 : 1;
    entities.set(k, { ...e, tier });
    const is = member(k);
    writes.push({ args: ['ENT.SET', k, 'tier', tier], reply,
      changes: was === is ? [] : [[k, is ? 'enter' : 'exit']] });
  };
  const visit = (i, n) => { // a field vip does not read: never a change
    const k = key(i);
    const e = entities.get(k) ?? {};
    const reply = e.visits === n ? 0 : 1;
    entities.set(k, { ...e, visits: n });
    writes.push({ args: ['ENT.SET', k, 'visits', n], reply, changes: [] });
  };
  const del = (i) => {
    const k = key(i);
    const was = member(k);
    const reply = entities.delete(k) ? 1 : 0;
    writes.push({ args: ['ENT.DEL', k], reply, changes: was ? [[k, 'exit']] : [] });
  };

  set(0, 'gold'); // a new entity enters
  set(1, 'silver'); // a new entity that does not match: no change
  set(1, 'gold'); // enters
  set(0, 'gold'); // the same value again: no change
  visit(0, 3); // another field: no change
  set(0, 'silver'); // exits
  del(1); // ENT.DEL of a member: an exit
  set(1, 'gold'); // the same key again, a new entity: enters
  const awaited = writes.length; // these one at a time, the rest pipelined
  for (let i = 0; i < 42; i++) {
    if (i % 11 === 10) del(2 + (i % 5));
    else if (i % 7 === 6) visit(2 + (i % 5), i);
    else set(2 + (i % 5), i % 3 === 2 ? 'silver' : 'gold');
  }
  const changes = writes.flatMap((w) => w.changes);
  const members = [...entities.keys()].filter(member).sort();
  const keys = Array.from({ length: 7 }, (_, i) => key(i));
  return { writes, awaited, changes, members, keys };
}

// segmentCollector gathers what the two subscriptions receive until the
// marker, published after every write was acknowledged, has arrived on both.
// Notifications are published before their write's reply, so whatever they
// sent must be in front of the marker: no count to guess, and a missing,
// extra or repeated message shows.
function segmentCollector(marker) {
  const direct = [];
  const viaPattern = [];
  let directDone = false;
  let patternDone = false;
  let wake;
  const ended = new Promise((resolve) => { wake = resolve; });
  const check = () => { if (directDone && patternDone) wake(); };
  return {
    direct, viaPattern,
    onMessage(channel, message) {
      if (message === marker) directDone = true;
      else if (!directDone) direct.push([channel, message]);
      check();
    },
    onPMessage(pattern, channel, message) {
      if (message === marker) patternDone = true;
      else if (!patternDone) viaPattern.push([pattern, channel, message]);
      check();
    },
    async done() {
      let timer;
      const timeout = new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`timeout waiting for the marker: ` +
          `${direct.length} messages (marker ${directDone ? '' : 'not '}seen), ` +
          `${viaPattern.length} pmessages (marker ${patternDone ? '' : 'not '}seen)`)),
        SEGMENT_TIMEOUT);
      });
      try { await Promise.race([ended, timeout]); } finally { clearTimeout(timer); }
    },
  };
}

// parseEvents checks the JSON of each notification and returns its
// [key, change, version]; time must be the Unix second of the writes.
function parseEvents(messages, from, to) {
  return messages.map((message) => {
    let ev;
    assert.doesNotThrow(() => { ev = JSON.parse(message); }, `not JSON: ${message}`);
    assert.deepEqual(Object.keys(ev).sort(), [...EVENT_KEYS].sort(), message);
    assert.equal(ev.segment, SEGMENT, message);
    assert.equal(typeof ev.key, 'string', message);
    assert.ok(ev.change === 'enter' || ev.change === 'exit', message);
    assert.ok(Number.isSafeInteger(ev.version) && ev.version > 0, message);
    assert.ok(Number.isSafeInteger(ev.time) && ev.time >= from && ev.time <= to,
      `time ${ev.time} not in [${from}, ${to}]: ${message}`);
    return [ev.key, ev.change, ev.version];
  });
}

// segmentNotifications runs the segment test. subscribe(got) subscribes to
// SEGMENT_CHANNEL and PATTERN, feeding got, and resolves once the server has
// confirmed both; run(args) sends a command on the other connection;
// publish(channel, message) resolves to the receivers.
async function segmentNotifications(tag, { subscribe, run, publish }) {
  const script = segmentWrites(tag);
  assert.ok(script.changes.length >= 20, `the script makes only ${script.changes.length} changes`);
  const marker = `${tag}: end of the segment test`;
  const got = segmentCollector(marker);
  await subscribe(got);
  try {
    await run(['SEGMENT.DROP', SEGMENT]); // anything a failed test left
    assert.equal(await run(['FIELD.CREATE', 'tier', 'ENUM']), 'OK');
    assert.equal(await run(['SEGMENT.CREATE', SEGMENT, 'tier:gold']), 0, 'nobody is gold yet');

    const from = Math.floor(Date.now() / 1000);
    const { writes, awaited } = script;
    const replies = [];
    for (const w of writes.slice(0, awaited)) replies.push(await run(w.args));
    // Pipelined: every write is sent before the first reply is read.
    replies.push(...await Promise.all(writes.slice(awaited).map((w) => run(w.args))));
    const to = Math.ceil(Date.now() / 1000);
    assert.deepEqual(replies, writes.map((w) => w.reply), 'write replies');
    assert.equal(await run(['SEGMENT.CARD', SEGMENT]), script.members.length);

    // The messages already left: the marker goes out behind them.
    assert.equal(await publish(SEGMENT_CHANNEL, marker), 2, 'PUBLISH reaches channel + pattern');
    await got.done();

    const want = script.changes.map(([key, change], i) => [key, change, i + 1]);
    for (const [channel] of got.direct) assert.equal(channel, SEGMENT_CHANNEL);
    for (const [pattern, channel] of got.viaPattern) {
      assert.equal(pattern, PATTERN);
      assert.equal(channel, SEGMENT_CHANNEL);
    }
    const direct = parseEvents(got.direct.map(([, m]) => m), from, to);
    const viaPattern = parseEvents(got.viaPattern.map(([, , m]) => m), from, to);
    // Versions start at 1 after SEGMENT.CREATE and go up by one per change.
    direct.forEach(([, , v], i) => assert.equal(v, i + 1, `SUBSCRIBE message #${i}: version`));
    assert.deepEqual(direct, want, 'SUBSCRIBE segment:vip stream');
    assert.deepEqual(viaPattern, want, 'PSUBSCRIBE segment:* stream');

    // The change log agrees with the notifications.
    const [last, log] = await run(['SEGMENT.CHANGES', SEGMENT, 'SINCE', '0']);
    assert.equal(Number(last), want.length);
    assert.deepEqual(log.map(([v, key, change]) => [key, change, Number(v)]), want,
      'SEGMENT.CHANGES vip SINCE 0');
  } finally {
    await run(['SEGMENT.DROP', SEGMENT]); // no notifications
    await run(['ENT.DEL', ...script.keys]);
  }
}

for (const RESP of [2, 3]) {
  test(`node-redis RESP${RESP} segment notifications`, async () => {
    const pub = createClient({ socket: { host, port, reconnectStrategy: false }, RESP });
    pub.on('error', () => {});
    await pub.connect();
    const sub = pub.duplicate();
    sub.on('error', () => {});
    await sub.connect();
    try {
      assert.match(await sub.sendCommand(['CLIENT', 'INFO']), new RegExp(` resp=${RESP} `));
      assert.match(await pub.sendCommand(['CLIENT', 'INFO']), new RegExp(` resp=${RESP} `));
      await segmentNotifications(`node-redis RESP${RESP} segments`, {
        // Each resolves once the server has confirmed the subscription.
        subscribe: async (got) => {
          await sub.subscribe(SEGMENT_CHANNEL, (message, channel) => got.onMessage(channel, message));
          await sub.pSubscribe(PATTERN, (message, channel) => got.onPMessage(PATTERN, channel, message));
        },
        run: (args) => pub.sendCommand(args.map(String)),
        publish: (ch, m) => pub.publish(ch, m),
      });
      await sub.unsubscribe(SEGMENT_CHANNEL);
      await sub.pUnsubscribe(PATTERN);
    } finally {
      await sub.close();
      await pub.close();
    }
  });
}

for (const protocol of [2, 3]) {
  test(`ioredis RESP${protocol} segment notifications`, async () => {
    const opts = { host, port, protocol, maxRetriesPerRequest: 0, retryStrategy: () => null };
    const pub = new Redis(opts);
    const sub = new Redis(opts);
    try {
      assert.match(await sub.call('CLIENT', 'INFO'), new RegExp(` resp=${protocol} `));
      assert.match(await pub.call('CLIENT', 'INFO'), new RegExp(` resp=${protocol} `));
      await segmentNotifications(`ioredis RESP${protocol} segments`, {
        subscribe: async (got) => {
          sub.on('message', (channel, message) => got.onMessage(channel, message));
          sub.on('pmessage', (pattern, channel, message) => got.onPMessage(pattern, channel, message));
          // The replies are the server's confirmations, with the count.
          assert.equal(await sub.subscribe(SEGMENT_CHANNEL), 1);
          assert.equal(await sub.psubscribe(PATTERN), 2);
        },
        run: (args) => pub.call(...args.map(String)),
        publish: (ch, m) => pub.publish(ch, m),
      });
      assert.equal(await sub.unsubscribe(SEGMENT_CHANNEL), 1);
      assert.equal(await sub.punsubscribe(PATTERN), 0);
    } finally {
      sub.disconnect();
      await pub.quit();
    }
  });
}
