/**
 * One game, two kinds of players: hydra-ts players (the bin) and a player built on
 * the published hydra-express@1.9.5 the way the article builds it
 * (test/peers/published-player.js). The potato crosses both ways, the published
 * player carries hydra-ts's extra fields along untouched, and each kind can start
 * a game the other plays in.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { keys } from '@hydra-ts/core';
import { freshDb, redisUrl, stopAllProcesses, waitFor } from '@hydra-ts/testing';
import { assertGameMatchesWire, pushConfig, receivedLines, startGame, startPlayer, startPublishedPlayer, target, Wire, SVC, type Player } from './helpers.js';

const DB = 14;
const URL = redisUrl(DB);
const FAST = { countdownSeconds: 0, gameSeconds: 2, passDelayMinMs: 100, passDelayMaxMs: 200 };
const PUBLISHED_ENV = { HYDRA_REDIS_URL: URL, HPP_COUNTDOWN_SECONDS: '0', HPP_GAME_SECONDS: '2', HPP_PASS_DELAY_MS: '100-200' };

let redis: Awaited<ReturnType<typeof freshDb>>;
let wire: Wire;
let ts: Player;
let published: Player;

before(async () => {
  redis = await freshDb(DB);
  wire = await Wire.record(URL);
  await pushConfig(URL, '0.0.1', FAST);
  [ts, published] = await Promise.all([startPlayer({ HYDRA_REDIS_URL: URL, HYDRA_SERVICE: `${SVC}:0.0.1` }), startPublishedPlayer(PUBLISHED_ENV)]);
  await waitFor('both players present', async () => (await redis.exists(keys.presence(SVC, ts.id))) + (await redis.exists(keys.presence(SVC, published.id))) === 2);
});

after(async () => {
  await stopAllProcesses();
  await wire?.close();
  await redis?.close();
});

test('a game started on a hydra-ts player: the potato crosses both ways and the published player carries the extra fields untouched', async () => {
  const answer = await startGame(ts.port);
  const { gameId } = answer.result;
  assertGameMatchesWire(answer, wire, ts.id);
  const potatoes = wire.potatoes(gameId);
  const fromPublished = potatoes.filter((p) => p.frm === `${published.id}@${SVC}:/`);
  assert.ok(potatoes.some((p) => target(p.to) === published.id), 'hydra-ts passed to the published player');
  assert.ok(fromPublished.length >= 1, 'the published player passed back');
  for (const p of fromPublished) {
    assert.equal(target(p.to), ts.id);
    assert.deepEqual(p.bdy, { command: 'hotpotato', expiration: potatoes[0]!.bdy.expiration, gameId, starter: ts.id });
  }
  // The published player's announcements carry no game id, and still land in this game's log.
  assert.ok(receivedLines(answer.result.gameLog).includes(`[${published.id}]: received hot potato.`));
  assert.ok(wire.announcements('received').some((m) => m.bdy.result === `[${published.id}]: received hot potato.` && m.bdy.gameId === undefined));
});

test('a game started on the published player: hydra-ts plays along and the published log shows it', async () => {
  const before = wire.seen.length;
  const res = await fetch(`http://127.0.0.1:${published.port}/v1/hpp/startgame`, { signal: AbortSignal.timeout(60_000) });
  const answer = (await res.json()) as { statusCode: number; result: { gameLog: string[] } };
  assert.equal(answer.statusCode, 200);
  const { gameLog } = answer.result;
  assert.deepEqual(gameLog.slice(0, 2), ['Game starting in: 0 seconds', 'Sending hot potato...']);
  const potatoes = wire.seen.slice(before).filter((m) => m.typ === 'hotpotato' && m.bdy.command === 'hotpotato');
  assert.ok(potatoes.length >= 2, 'passed at least there and back');
  assert.equal(target(potatoes[0]!.to), ts.id);
  for (const p of potatoes) assert.deepEqual(Object.keys(p.bdy).sort(), ['command', 'expiration'], 'hydra-ts adds nothing to a potato it did not start');
  assert.ok(gameLog.includes(`[${ts.id}]: received hot potato.`), JSON.stringify(gameLog));
  assert.match(gameLog.at(-1)!, new RegExp(`^Game over, (${ts.id}|${published.id}) lost!$`));
  assert.equal(gameLog.at(-1), `Game over, ${target(potatoes.at(-1)!.to)} lost!`, 'the last receiver lost');
});

test('three players, two of them hydra-ts, two games at once on two instances: each log is its own game', async () => {
  const other = await startPlayer({ HYDRA_REDIS_URL: URL, HYDRA_SERVICE: `${SVC}:0.0.1` });
  await waitFor('all three players seen', async () => (await redis.exists(keys.presence(SVC, other.id))) === 1);
  const [one, two] = await Promise.all([startGame(ts.port), startGame(other.port)]);
  assert.notEqual(one.result.gameId, two.result.gameId);
  assertGameMatchesWire(one, wire, ts.id);
  assertGameMatchesWire(two, wire, other.id);
});
