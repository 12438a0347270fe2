import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { createMessage, parseMessage, toShort, toShortJSON, parseRoute, sign, verify, UMF_VERSION, HydraError, MAX_JSON_DEPTH, jsonDepth, type UMFMessage } from '../src/index.js';

test('createMessage accepts short form and fills mid, timestamp and version', () => {
  const m = createMessage({ to: 'hello-service:/', frm: 'client:/', bdy: { a: 1 }, typ: 'ping', tmo: 5 });
  assert.equal(m.from, 'client:/');
  assert.deepEqual(m.body, { a: 1 });
  assert.equal(m.type, 'ping');
  assert.equal(m.timeout, 5);
  assert.equal(m.version, UMF_VERSION);
  assert.match(m.mid, /^[0-9a-f-]{36}$/);
  assert.ok(!Number.isNaN(Date.parse(m.timestamp)));
});

test('toShort uses the short names and keeps only present fields', () => {
  const m = createMessage({ to: 'a:/', from: 'b:/', body: {}, via: 'x@hydra-router:/', authorization: 'Bearer t' });
  const s = toShort(m);
  assert.deepEqual(Object.keys(s), ['to', 'frm', 'mid', 'ts', 'ver', 'via', 'bdy', 'aut']);
  assert.deepEqual(createMessage(s), m);
});

test('toShortJSON writes exactly what JSON.stringify(toShort(m)) writes', () => {
  const odd = 'quote " backslash \\ newline \n tab \t nul \u0000 é ☃ \ud83d\ude00 lone \ud800';
  const messages: UMFMessage[] = [
    createMessage({ to: 'a:/', from: 'b:/', body: {} }),
    createMessage({
      to: `x@${odd}:[get]/p`, from: odd, headers: { h: [1, { k: odd }] }, mid: odd, rmid: 'r', signature: 's', timeout: 1.5, timestamp: odd,
      type: odd, version: 'UMF/1.0', via: odd, forward: 'f', body: { n: -0, e: 1e21, nested: { a: [null, true, odd] } }, authorization: 'Bearer t',
    }),
    // Hand-made, not validated: JSON leaves out what it cannot write, and so must toShortJSON.
    { to: 'a:/', from: 'b:/', mid: 'm', timestamp: 't', version: 'v', type: undefined, via: (() => 1) as unknown as string, body: { d: new Date(0), f: () => 1 } },
    { from: 'b:/', mid: 'm', timestamp: 't', version: 'v', body: {} } as unknown as UMFMessage,
  ];
  for (const m of messages) assert.equal(toShortJSON(m), JSON.stringify(toShort(m)));
});

test('createMessage fills defaults only where the input has no value', () => {
  const defaults = { from: 'me:/' };
  assert.equal(createMessage({ to: 'a:/', body: {} }, defaults).from, 'me:/');
  assert.equal(createMessage({ to: 'a:/', from: '', body: {} }, defaults).from, 'me:/', 'empty is no value, as in Hydra');
  assert.equal(createMessage({ to: 'a:/', from: 'b:/', body: {} }, defaults).from, 'b:/');
  assert.equal(createMessage({ to: 'a:/', frm: 'c:/', body: {} }, defaults).from, 'c:/');
  const input = { to: 'a:/', body: {} };
  createMessage(input, defaults);
  assert.deepEqual(input, { to: 'a:/', body: {} }, 'the input is not changed');
  assert.deepEqual(Object.keys(createMessage({ body: {}, to: 'a:/', ver: 'UMF/1.0', frm: 'b:/', rmid: 'r' })), ['to', 'from', 'mid', 'rmid', 'timestamp', 'version', 'body'], 'fields in signing order whatever the input order');
});

test('createMessage reads fields that a class instance or a proxy answers by name', () => {
  class Getters {
    get to() {
      return 'a:/';
    }
    get frm() {
      return 'b:/';
    }
    get body() {
      return { n: 1 };
    }
  }
  const long = { to: 'c:/', from: 'd:/', body: { n: 2 }, timeout: 3 };
  // Hydra's message objects: a proxy over a class instance that reads fields by name.
  const proxied = new Proxy(new (class UMFMessage {})(), { get: (_t, name) => long[name as keyof typeof long] });
  assert.deepEqual([createMessage(new Getters())].map((m) => [m.to, m.from, m.body]), [['a:/', 'b:/', { n: 1 }]]);
  assert.deepEqual([createMessage(proxied)].map((m) => [m.to, m.from, m.body, m.timeout]), [['c:/', 'd:/', { n: 2 }, 3]]);
});

test('timestamps are the time the message was made', async () => {
  for (let i = 0; i < 3; i++) {
    const before = Date.now();
    const m = createMessage({ to: 'a:/', from: 'b:/', body: {} });
    const after = Date.now();
    const at = Date.parse(m.timestamp);
    assert.ok(before <= at && at <= after, `${m.timestamp} is between ${new Date(before).toISOString()} and ${new Date(after).toISOString()}`);
    await new Promise((resolve) => setTimeout(resolve, 3));
  }
});

test('invalid messages are refused with the field named', () => {
  const cases: Array<[unknown, RegExp]> = [
    [[], /must be a JSON object/],
    [{ from: 'a:/', body: {} }, /"to" is required/],
    [{ to: 'a:/', body: {} }, /"from" is required/],
    [{ to: 'a:/', from: 'b:/' }, /"body" is required/],
    [{ to: 'a:/', from: 'b:/', body: 'text' }, /"body" must be an object/],
    [{ to: 5, from: 'b:/', body: {} }, /"to" must be a string/],
    [{ to: 'a:/', from: 'b:/', body: {}, tmo: -1 }, /"timeout" must be a positive number/],
  ];
  for (const [input, expected] of cases) {
    assert.throws(() => createMessage(input), (err: unknown) => err instanceof HydraError && err.code === 'INVALID_UMF' && expected.test(err.message));
  }
  assert.throws(() => parseMessage('{not json'), (err: unknown) => err instanceof HydraError && err.code === 'INVALID_JSON');
});

test('parseRoute reads instance, sub id, service, method and path', () => {
  assert.deepEqual(parseRoute('hello-service:[GET]/v1/hello/test'), { instance: '', subId: '', serviceName: 'hello-service', httpMethod: 'get', apiRoute: '/v1/hello/test' });
  assert.deepEqual(parseRoute('3f2a@hpp-service:/'), { instance: '3f2a', subId: '', serviceName: 'hpp-service', httpMethod: '', apiRoute: '/' });
  assert.deepEqual(parseRoute('abc-7@hydra-router:/'), { instance: 'abc', subId: '7', serviceName: 'hydra-router', httpMethod: '', apiRoute: '/' });
  assert.equal(parseRoute('svc:[post]/a/b:c').apiRoute, '/a/b:c');
});

test('parseRoute errors carry Hydra\'s texts', () => {
  assert.throws(() => parseRoute('no-colon'), /route field has invalid number of routable segments/);
  assert.throws(() => parseRoute('svc:[get/v1'), /route field has ill-formed HTTP method verb in segment/);
});

test('signatures are HMAC-SHA256 over the long form without the signature, as Hydra computes them', () => {
  const m = createMessage({ to: 'a:/', from: 'b:/', body: { n: 1 }, mid: 'm-1', timestamp: '2026-01-01T00:00:00.000Z' });
  const signed = sign(m, 'secret');
  const expected = createHmac('sha256', 'secret').update(JSON.stringify(m)).digest('hex');
  assert.equal(signed.signature, expected);
  assert.ok(verify(signed, 'secret'));
  assert.ok(!verify(signed, 'other'));
  assert.ok(!verify({ ...signed, body: { n: 2 } }, 'secret'));
  assert.ok(!verify(m, 'secret'), 'an unsigned message does not verify');
});

test('JSON nested deeper than the limit is refused where it is parsed, before anything re-serializes it', () => {
  const deep = (n: number) => `{"to":"svc:/","frm":"x:/","bdy":{"a":${'['.repeat(n)}${']'.repeat(n)}}}`;
  assert.equal(jsonDepth(deep(3)), 5);
  assert.equal(jsonDepth('{"s":"[[[[{{{\\"]]"}'), 1, 'brackets inside strings do not count');
  assert.equal(jsonDepth(Buffer.from(deep(3))), 5, 'bytes are measured as text is');
  assert.equal(jsonDepth(String.raw`{"s":"x\\","t":[[1]]}`), 3, 'a string ending in an escaped backslash ends at its quote');
  assert.equal(jsonDepth(String.raw`{"s":"x\\\"[[[[","t":[1]}`), 2, 'an escaped quote after escaped backslashes does not end the string');
  assert.equal(jsonDepth(Buffer.from('{"é":[["ü{"]],"ß":"["}')), 3, 'multi-byte characters in bytes change nothing');
  assert.equal(jsonDepth('{"open":"[[[['), 1, 'an unterminated string runs to the end');
  assert.equal(parseMessage(deep(MAX_JSON_DEPTH - 2)).to, 'svc:/');
  assert.throws(() => parseMessage(deep(MAX_JSON_DEPTH - 1)), /129 levels deep; the limit is 128/);
  assert.throws(() => parseMessage(`{"to":"svc:/","frm":"x:/","bdy":{"a":${'{"b":'.repeat(200)}1${'}'.repeat(200)}}}`), /202 levels deep/, 'objects count as arrays do');
  assert.throws(
    () => parseMessage(deep(5000)),
    (e: unknown) => e instanceof HydraError && e.code === 'INVALID_JSON' && /message nests arrays and objects 5002 levels deep; the limit is 128/.test(e.message),
  );
});
