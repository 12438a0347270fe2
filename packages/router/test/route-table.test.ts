/**
 * The route table on its own: a path whose pattern is all static segments is found by one
 * map lookup (no split), and answers exactly what the trie walk answers.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RouteTable, parseRouteString, type RouteEntry } from '../src/route-table.js';

function table(routes: Record<string, string[]>): RouteTable {
  const t = new RouteTable();
  t.setAll(new Map(Object.entries(routes).map(([svc, list]) => [svc, list.map((r) => parseRouteString(svc, r)!)])));
  return t;
}

const all = () => true;
const svc = (e: RouteEntry | undefined) => e?.serviceName;

test('route table: static patterns answer as the walk does (specificity, methods, liveness, trailing and double slashes)', () => {
  const t = table({
    special: ['[get]/v1/shop/items/special'],
    param: ['[get]/v1/shop/items/:id'],
    wild: ['[get]/v1/shop/*'],
    poster: ['[post]/v1/shop/items/:id'],
    any: ['/v1/any'],
    root: ['[get]/'],
    double: ['[get]/v1//double'],
    tail: ['[get]/v1/tail/'],
  });
  assert.equal(svc(t.find('GET', '/v1/shop/items/special', all)), 'special');
  assert.equal(svc(t.find('GET', '/v1/shop/items/special/', all)), 'special', 'a trailing slash names the same resource');
  assert.equal(svc(t.find('HEAD', '/v1/shop/items/special', all)), 'special', 'a GET route answers HEAD');
  assert.equal(svc(t.find('POST', '/v1/shop/items/special', all)), 'poster', 'no static POST: the :param pattern takes it');
  assert.equal(svc(t.find('GET', '/v1/shop/items/special', (s) => s !== 'special')), 'param', 'a dead static route gives way');
  assert.equal(svc(t.find('GET', '/v1/shop/items/42', all)), 'param');
  assert.equal(svc(t.find('GET', '/v1/shop/a/b/c', all)), 'wild');
  assert.equal(svc(t.find('DELETE', '/v1/any', all)), 'any');
  assert.equal(svc(t.find('GET', '/', all)), 'root');
  assert.equal(svc(t.find('GET', '//', all)), undefined, "'//' is one empty segment, not the root");
  assert.equal(svc(t.find('GET', '/v1//double', all)), 'double');
  assert.equal(svc(t.find('GET', '/v1/double', all)), undefined);
  assert.equal(svc(t.find('GET', '/v1/tail', all)), 'tail');
  assert.equal(svc(t.find('GET', 'v1/any', all)), undefined, 'a path not rooted at /');
  assert.deepEqual(t.match('GET', '/v1/shop/items/42', all)?.params, { id: '42' });
  assert.deepEqual(t.match('GET', '/v1/shop/items/special', all)?.params, {});
  assert.deepEqual(t.allowedMethods('/v1/shop/items/special', all), ['GET', 'POST']);

  // A service's routes replaced: the static lookup follows the table.
  t.setService('special', []);
  assert.equal(svc(t.find('GET', '/v1/shop/items/special', all)), 'param');
});
