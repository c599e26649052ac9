'use strict';
// Shared by the node compatibility tests: where segd listens, and one
// conformance suite that each client file runs under each protocol it speaks.
// The Go test server/node_compat_test.go starts segd and sets SEGD_ADDR.

const { describe, test, before, after } = require('node:test');
const assert = require('node:assert/strict');

const addr = process.env.SEGD_ADDR;
if (!addr) throw new Error('SEGD_ADDR (host:port of a running segd) is not set');
const [host, portText] = [addr.slice(0, addr.lastIndexOf(':')), addr.slice(addr.lastIndexOf(':') + 1)];
const port = Number(portText);

// asObject checks that a *map* reply has the shape the client gives it
// (a plain object, or a flat [k, v, ...] array) and returns it as an object.
function asObject(reply, mapsAsObjects) {
  if (mapsAsObjects) {
    assert.ok(reply !== null && typeof reply === 'object' && !Array.isArray(reply),
      `want a map decoded as an object, got ${JSON.stringify(reply)}`);
    return { ...reply };
  }
  assert.ok(Array.isArray(reply) && reply.length % 2 === 0,
    `want a map as a flat [k, v, ...] array, got ${JSON.stringify(reply)}`);
  const out = {};
  for (let i = 0; i < reply.length; i += 2) out[reply[i]] = reply[i + 1];
  return out;
}

// conformance runs the command tests through one client configuration:
//   name           test-suite name, also the prefix of every key and field
//   proto          the RESP version the client must have negotiated
//   connect()      resolves to a connected client
//   call(c, args)  sends args (strings) and resolves to the decoded reply
//   close(c)       closes the client
//   mapsAsObjects  RESP3 maps come back as objects (else flat arrays)
//   doublesAsNumbers RESP3 doubles come back as numbers (else strings)
function conformance(o) {
  const tag = o.name.replace(/[^A-Za-z0-9]/g, '_');
  const f = (name) => `${tag}_${name}`; // fields are global: one set per suite
  const k = (n) => `${tag}:u:${n}`;

  describe(o.name, () => {
    let c;
    const call = (...args) => o.call(c, args.map(String));

    before(async () => { c = await o.connect(); });
    after(async () => { if (c) await o.close(c); });

    test('connect, HELLO and PING', async () => {
      const info = await call('CLIENT', 'INFO');
      assert.match(String(info), new RegExp(` resp=${o.proto} `), 'protocol negotiated at connect');
      const hello = asObject(await call('HELLO', o.proto), o.mapsAsObjects);
      assert.equal(hello.server, 'segd');
      assert.equal(hello.proto, o.proto);
      assert.equal(hello.mode, 'standalone');
      assert.equal(await call('PING'), 'PONG');
      assert.equal(await call('PING', 'hi there'), 'hi there');
    });

    test('ENT.SET, ENT.ADD and ENT.GET', async () => {
      assert.equal(await call('ENT.SET', k(1), f('country'), 'PT', f('age'), 31), 2);
      assert.equal(await call('ENT.SET', k(1), f('country'), 'PT', f('age'), 31), 0, 'nothing changed');
      assert.equal(await call('ENT.ADD', k(1), f('interests'), 'fitness', 'travel'), 2);
      assert.equal(await call('ENT.ADD', k(1), f('interests'), 'travel', 'chess'), 1);

      const all = asObject(await call('ENT.GET', k(1)), o.mapsAsObjects);
      all[f('interests')] = [...all[f('interests')]].sort(); // TAGS order is not specified
      assert.deepEqual(all, {
        [f('age')]: 31, // INT: an integer reply
        [f('country')]: 'PT',
        [f('interests')]: ['chess', 'fitness', 'travel'],
      });
      // fields by name, in that order, in either shape
      const raw = await call('ENT.GET', k(1));
      assert.deepEqual(Array.isArray(raw) ? raw.filter((_, i) => i % 2 === 0) : Object.keys(raw),
        [f('age'), f('country'), f('interests')]);

      const some = asObject(await call('ENT.GET', k(1), f('country')), o.mapsAsObjects);
      assert.deepEqual(some, { [f('country')]: 'PT' });
      assert.equal(await call('ENT.GET', `${tag}:nobody`), null);
    });

    test('QUERY.COUNT, QUERY.ISMEMBER and QUERY.MEMBERS paging', async () => {
      const keys = [];
      for (let i = 100; i < 125; i++) {
        keys.push(k(i));
        await call('ENT.SET', k(i), f('tier'), i % 2 ? 'gold' : 'silver', f('score'), i);
      }
      assert.equal(await call('QUERY.COUNT', `${f('tier')}:gold`), 12);
      assert.equal(await call('QUERY.COUNT', `${f('tier')}:(gold,silver) AND ${f('score')} >= 120`), 5);
      assert.equal(await call('QUERY.ISMEMBER', `${f('tier')}:gold`, k(101)), 1);
      assert.equal(await call('QUERY.ISMEMBER', `${f('tier')}:gold`, k(100)), 0);
      assert.equal(await call('QUERY.ISMEMBER', 'ALL', `${tag}:nobody`), 0);

      const seen = [];
      let cursor = '0';
      let pages = 0;
      do {
        const reply = await call('QUERY.MEMBERS', `${f('tier')}:*`, 'CURSOR', cursor, 'COUNT', 7);
        assert.ok(Array.isArray(reply) && reply.length === 2, JSON.stringify(reply));
        const [next, page] = reply;
        assert.equal(typeof next, 'string', 'cursor is a bulk string');
        assert.ok(Array.isArray(page) && page.length <= 7);
        if (next !== '0') assert.equal(page.length, 7, 'pages before the last are full');
        seen.push(...page);
        cursor = next;
        assert.ok(++pages <= 10, 'paging never ends');
      } while (cursor !== '0');
      assert.equal(pages, 4);
      assert.equal(new Set(seen).size, seen.length, 'no key twice');
      assert.deepEqual([...seen].sort(), [...keys].sort());
    });

    test('FIELD.INFO and QUERY.STATS maps', async () => {
      await call('ENT.SET', k(200), f('city'), 'Lisbon', f('income'), 30);
      await call('ENT.SET', k(201), f('city'), 'Porto', f('income'), 45);
      await call('ENT.SET', k(202), f('city'), 'Porto');

      const info = asObject(await call('FIELD.INFO', f('city')), o.mapsAsObjects);
      assert.equal(info.name, f('city'));
      assert.equal(info.kind, 'ENUM');
      assert.equal(info.values, 2);
      assert.equal(info.entities, 3);
      assert.equal(typeof info.bytes, 'number');
      assert.equal(info.granularity, null);
      assert.equal(info.retention, null);
      const intInfo = asObject(await call('FIELD.INFO', f('income')), o.mapsAsObjects);
      assert.equal(intInfo.kind, 'INT');
      assert.equal(intInfo.values, null);

      const stats = asObject(await call('QUERY.STATS', f('income')), o.mapsAsObjects);
      // mean is a RESP3 double: a number when the client maps doubles, else
      // the string RESP2 sends (a bulk string) or the client's legacy form.
      assert.deepEqual(stats, {
        count: 2, sum: 75, min: 30, max: 45, mean: o.doublesAsNumbers ? 37.5 : '37.5',
      });
      const none = asObject(await call('QUERY.STATS', f('income'), 'WHERE', `${f('city')}:Faro`),
        o.mapsAsObjects);
      assert.deepEqual(none, { count: 0, sum: 0, min: null, max: null, mean: null });
    });

    test('errors reject the promise with the message', async () => {
      await call('ENT.SET', k(300), f('plan'), 'basic');
      await assert.rejects(call('ENT.ADD', k(300), f('plan'), 'x'),
        (err) => {
          assert.match(err.message, /^WRONGTYPE /);
          assert.ok(err.message.includes(f('plan')), err.message);
          return true;
        });
      await assert.rejects(call('QUERY.COUNT', `${f('plan')}:`),
        { message: /^ERR syntax error at \d+: expected a value after ':'/ });
      await assert.rejects(call('NO.SUCH.COMMAND'), { message: /^ERR unknown command/ });
      assert.equal(await call('PING'), 'PONG', 'the connection survives errors');
      assert.equal(await call('ENT.EXISTS', k(300)), 1, 'the rejected write changed nothing else');
    });
  });
}

module.exports = { addr, host, port, asObject, conformance };
