/**
 * The hot-potato game between hydra-ts players, each a process started through the
 * bin and configured from Redis (HYDRA_SERVICE=hpp-service:<version>), as in the
 * article. Every answer is checked against the messages that really crossed Redis.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Hydra, channels, keys } from '@hydra-ts/core';
import { freePort, freshDb, quietLogger, redisUrl, startProcess, stopAllProcesses, stopProcess, waitFor } from '@hydra-ts/testing';
import { pushConfig, receivedLines, startGame, startPlayer, assertGameMatchesWire, target, Wire, SVC, BIN, type Player } from './helpers.js';

const ROUTER_BIN = join(dirname(require.resolve('@hydra-ts/router/package.json')), 'bin', 'hydra-router.js');

const DB = 13;
const URL = redisUrl(DB);
/** Fast games: a 1 s countdown (the default is 3, so the log shows the stored config was used), 1-2 s of play. */
const FAST = { countdownSeconds: 1, gameSeconds: 1, passDelayMinMs: 50, passDelayMaxMs: 150 };
/** Slow passes, so a test can act while one player holds the potato. */
const SLOW = { countdownSeconds: 0, gameSeconds: 10, passDelayMinMs: 5000, passDelayMaxMs: 5000, graceMs: 10_000, maxGames: 1 };

let redis: Awaited<ReturnType<typeof freshDb>>;
let wire: Wire;
let players: Player[] = [];

before(async () => {
  redis = await freshDb(DB);
  wire = await Wire.record(URL);
  await pushConfig(URL, '0.0.1', FAST);
  await pushConfig(URL, '0.0.9', SLOW);
});

after(async () => {
  await stopAllProcesses();
  await wire?.close();
  await redis?.close();
});

const env = (version: string) => ({ HYDRA_REDIS_URL: URL, HYDRA_SERVICE: `${SVC}:${version}` });

async function startPlayers(n: number, version: string): Promise<Player[]> {
  const started = await Promise.all(Array.from({ length: n }, () => startPlayer(env(version))));
  await waitFor('every player to be present', async () => (await Promise.all(started.map((p) => redis.exists(keys.presence(SVC, p.id))))).every((e) => e === 1));
  return started;
}

async function stopPlayers(): Promise<void> {
  await Promise.all(players.map((p) => stopProcess(p.child)));
  players = [];
}

test('--help prints the usage and the game settings', async () => {
  const help = startProcess([BIN, '--help']);
  const code = await new Promise((r) => help.child.once('exit', r));
  assert.equal(code, 0);
  assert.match(help.output(), /usage: hpp-service \[config\.json\]/);
  assert.match(help.output(), /"countdownSeconds":3,"gameSeconds":15/);
});

test('a bad game setting stops the start with the field named, before the player is visible', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'hpp-config-'));
  const file = join(dir, 'config.json');
  writeFileSync(file, JSON.stringify({ hydra: { serviceName: 'hpp-bad', serviceIP: '127.0.0.1', servicePort: 0, redis: { url: URL } }, hpp: { passDelayMinMs: 'soon' } }));
  const bad = startProcess([BIN, file]);
  const code = await new Promise((r) => bad.child.once('exit', r));
  assert.equal(code, 1);
  assert.match(bad.output(), /config field hpp\.passDelayMinMs must be a whole number from 0 to 60000, not "soon"/);
  assert.deepEqual(await redis.keys('hydra:service:hpp-bad:*'), []);
});

test('a game with no other live player is refused at once with a clear error', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'hpp-config-'));
  const file = join(dir, 'config.json');
  // Its own service name, so the players of the other tests are not its opponents; the article's 3 s countdown.
  writeFileSync(file, JSON.stringify({ hydra: { serviceName: 'hpp-solo', serviceIP: '127.0.0.1', servicePort: 0, redis: { url: URL } } }));
  const solo = await startPlayer({}, [file]);
  const answer = await startGame(solo.port);
  assert.equal(answer.statusCode, 503);
  assert.equal(answer.result.code, 'SERVICE_UNAVAILABLE');
  assert.match(answer.result.reason!, /no other hpp-solo player is alive: start another hpp-solo instance, then start the game/);
  await stopProcess(solo.child);
});

test('three players configured from Redis play a game: the answer is the game log, in the article form', async () => {
  players = await startPlayers(3, '0.0.1');
  const [a] = players as [Player];
  const answer = await startGame(a.port);
  const { gameLog } = answer.result;
  assert.deepEqual(gameLog.slice(0, 3), ['Game starting in: 1 seconds', 'Game starting in: 0 seconds', 'Sending hot potato...']);
  assert.ok(receivedLines(gameLog).length >= 1, JSON.stringify(gameLog));
  assertGameMatchesWire(answer, wire, a.id);
  const ids = new Set(players.map((p) => p.id));
  for (const p of wire.potatoes(answer.result.gameId)) assert.ok(ids.has(p.to.slice(0, 32)) && p.to.slice(0, 32) !== p.frm.slice(0, 32), 'passed to another player');
});

test('malformed game messages are skipped with the problem named; the player keeps playing', async () => {
  const [a] = players as [Player];
  const bad = [
    'not json',
    JSON.stringify({ to: `${a.id}@${SVC}:/`, frm: 'x:/', typ: 'hotpotato', bdy: { command: 'hotpotato', expiration: 'soon' } }),
    JSON.stringify({ to: `${a.id}@${SVC}:/`, frm: 'x:/', typ: 'hotpotato', bdy: { command: 'hotpotato', expiration: 1, gameId: '../../etc' } }),
    JSON.stringify({ to: `${a.id}@${SVC}:/`, frm: 'x:/', typ: 'hotpotato.handoff', bdy: { gameId: 'g1', holder: 'nobody' } }),
    JSON.stringify({ to: `${SVC}:/`, frm: 'x:/', typ: 'hotpotato', bdy: { command: 'juggle' } }),
  ];
  for (const payload of bad) await redis.publish(channels.instance(SVC, a.id), payload);
  await waitFor('the problems logged', () => {
    const problems = a.lines.filter((l) => l.includes('skipped a malformed game message')).map((l) => (JSON.parse(l) as { problem: string }).problem);
    return problems.length === 4 && problems;
  });
  const problems = a.lines.filter((l) => l.includes('skipped a malformed game message')).map((l) => (JSON.parse(l) as { problem: string }).problem);
  assert.deepEqual(problems, [
    'hot potato without a numeric bdy.expiration',
    'hot potato message with an invalid gameId (1-64 letters, digits or dashes)',
    'hand-off note without a valid holder instance id',
    'hot potato message with unknown command "juggle"',
  ]);
  assert.ok(a.lines.some((l) => l.includes('skipped a message that is not valid UMF')), 'core names the JSON problem');
  assertGameMatchesWire(await startGame(a.port), wire, a.id);
});

test('two games started at once on one instance keep their logs apart', async () => {
  const [a] = players as [Player];
  const [one, two] = await Promise.all([startGame(a.port), startGame(a.port)]);
  assert.notEqual(one.result.gameId, two.result.gameId);
  assertGameMatchesWire(one, wire, a.id);
  assertGameMatchesWire(two, wire, a.id);
});

test('two games started at once on two instances keep their logs apart', async () => {
  const [a, b] = players as [Player, Player];
  const [one, two] = await Promise.all([startGame(a.port), startGame(b.port)]);
  assert.notEqual(one.result.gameId, two.result.gameId);
  assertGameMatchesWire(one, wire, a.id);
  assertGameMatchesWire(two, wire, b.id);
});

test('a game through hydra-router: the route is published and the answer comes back through it', async () => {
  const port = await freePort();
  startProcess([ROUTER_BIN], { HYDRA_REDIS_URL: URL, HYDRA_SERVICE: JSON.stringify({ serviceIP: '127.0.0.1', servicePort: port }) });
  const routerUrl = `http://127.0.0.1:${port}`;
  await waitFor('the router to know the game route', async () => {
    const routes = (await (await fetch(`${routerUrl}/v1/router/list/routes`)).json()) as { result: Array<{ serviceName: string; routes: string[] }> };
    return JSON.stringify(routes.result).includes('/v1/hpp/startgame');
  }, 30_000);
  const res = await fetch(`${routerUrl}/v1/hpp/startgame`, { signal: AbortSignal.timeout(60_000) });
  const answer = (await res.json()) as Awaited<ReturnType<typeof startGame>>;
  const starter = wire.potatoes(answer.result.gameId)[0]?.frm.slice(0, 32);
  assert.ok(starter && players.some((p) => p.id === starter), JSON.stringify(answer));
  assertGameMatchesWire(answer, wire, starter);
});

test('a holder killed mid-game (SIGKILL) ends the game with a result that says so; a second game on the busy starter is refused', async () => {
  await stopPlayers();
  players = await startPlayers(4, '0.0.9');
  const [a] = players as [Player];
  const answer = startGame(a.port);
  const first = await waitFor('the first potato', () => wire.seen.find((m) => m.bdy.command === 'hotpotato' && m.bdy.starter === a.id));
  const gameId = first.bdy.gameId as string;
  const holder = players.find((p) => first.to.startsWith(p.id))!;
  await waitFor('its announcement', () => wire.announcements('received').find((m) => m.bdy.gameId === gameId && m.bdy.sender === holder.id));
  holder.child.kill('SIGKILL');
  const busy = await startGame(a.port);
  assert.equal(busy.statusCode, 503);
  assert.equal(busy.result.code, 'SERVICE_UNAVAILABLE');
  assert.match(busy.result.reason!, /this player already runs 1 games \(config field hpp\.maxGames\)/);
  const result = await answer;
  assert.equal(result.statusCode, 200);
  assert.equal(result.result.gameId, gameId);
  assert.equal(result.result.outcome, 'holder-left');
  assert.equal(result.result.loser, holder.id);
  assert.deepEqual(result.result.gameLog.slice(-2), [`[${holder.id}]: received hot potato.`, `Game over, ${holder.id} left the game holding the hot potato!`]);
  // Every player hears the end, tagged with the game.
  await waitFor('the end announced to every player', () => wire.announcements('gameover').some((m) => m.bdy.gameId === gameId && m.bdy.reason === 'holder-left' && m.bdy.loser === holder.id));
  players = players.filter((p) => p !== holder);
});

test('SIGTERM: a holder hands the potato on and exits 0; the starter withdraws, lets its game finish, answers, then exits 0', async () => {
  const [a, ...rest] = players as [Player, ...Player[]];
  const answer = startGame(a.port);
  const first = await waitFor('the first potato', () => wire.seen.find((m) => m.bdy.command === 'hotpotato' && m.bdy.starter === a.id && !wire.seen.some((o) => o.bdy.gameId === m.bdy.gameId && o.bdy.command === 'gameover')));
  const gameId = first.bdy.gameId as string;
  const holder = rest.find((p) => first.to.startsWith(p.id))!;
  await waitFor('its announcement', () => wire.announcements('received').find((m) => m.bdy.gameId === gameId && m.bdy.sender === holder.id));
  const holderExit = new Promise((r) => holder.child.once('exit', r));
  holder.child.kill('SIGTERM');
  assert.equal(await holderExit, 0);
  assert.equal(await redis.exists(keys.presence(SVC, holder.id)), 0);
  const passedOn = wire.potatoes(gameId).find((p) => p.frm.startsWith(holder.id));
  assert.ok(passedOn, 'the stopping holder passed the potato on');
  assert.notEqual(target(passedOn.to), holder.id);

  const starterExit = new Promise((r) => a.child.once('exit', r));
  a.child.kill('SIGTERM');
  await waitFor('the starter to withdraw', async () => (await redis.exists(keys.presence(SVC, a.id))) === 0);
  const result = await answer;
  assert.equal(result.result.outcome, 'lost');
  assert.notEqual(result.result.loser, holder.id);
  assert.equal(await starterExit, 0);
  players = [];
});

test('a potato that vanishes without its holder leaving: the game ends at its hard deadline', async () => {
  // A registered hpp-void instance that ignores every message: it is present, and swallows the potato.
  const sink = await Hydra.create({ hydra: { serviceName: 'hpp-void', serviceIP: '127.0.0.1', servicePort: 0, redis: { url: URL } } }, { logger: quietLogger() });
  try {
    await sink.registerService();
    const dir = mkdtempSync(join(tmpdir(), 'hpp-config-'));
    const file = join(dir, 'config.json');
    writeFileSync(file, JSON.stringify({ hydra: { serviceName: 'hpp-void', serviceIP: '127.0.0.1', servicePort: 0, redis: { url: URL } }, hpp: { countdownSeconds: 0, gameSeconds: 1, passDelayMinMs: 50, passDelayMaxMs: 50, graceMs: 500 } }));
    const player = await startPlayer({}, [file]);
    const answer = await startGame(player.port);
    assert.equal(answer.statusCode, 200);
    assert.equal(answer.result.outcome, 'potato-lost');
    assert.equal(answer.result.loser, undefined);
    // 0 s countdown + (1 + 1) s + 50 ms + 500 ms
    assert.deepEqual(answer.result.gameLog, ['Game starting in: 0 seconds', 'Sending hot potato...', 'Game over, the hot potato went missing: no player announced the end within 2.55 seconds']);
  } finally {
    await sink.close();
  }
});
