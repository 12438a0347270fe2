/**
 * The command line itself: --help with an example on every command, exit codes,
 * tables on a terminal and JSON in a pipe, `shell` (the exact redis-cli it runs,
 * recorded by a stand-in redis-cli on PATH) and the completion scripts (run by
 * bash). No Redis is needed here.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cli, tempHome, BIN, CLI_ROOT } from './helpers.js';

const home = tempHome();
after(() => home.remove());

const COMMANDS = [
  ['config'], ['use'], ['cfg'], ['cfg', 'push'], ['cfg', 'pull'], ['cfg', 'list'], ['cfg', 'remove'],
  ['services'], ['nodes'], ['routes'], ['health'], ['healthlog'],
  ['message'], ['message', 'create'], ['message', 'send'], ['message', 'queue'],
  ['refresh'], ['rest'], ['shell'], ['redis'], ['redis', 'info'], ['completion'],
];

test('every command has --help with an example, and exits 0', async () => {
  const top = await cli(['--help'], { home: home.home });
  assert.equal(top.code, 0);
  const listed = [...top.stdout.matchAll(/^ {2}([a-z]+) /gm)].map((m) => m[1]).filter((c) => c !== 'help');
  assert.deepEqual(listed.sort(), [...new Set(COMMANDS.map((c) => c[0]!))].sort(), 'the test covers every command');
  for (const command of COMMANDS) {
    const r = await cli([...command, '--help'], { home: home.home });
    assert.equal(r.code, 0, command.join(' '));
    assert.match(r.stdout, /\nExamples?:\n {2}\$ /, `${command.join(' ')} --help has an example`);
    assert.match(r.stdout, /--json/, `${command.join(' ')} --help shows the global options`);
  }
});

test('--version prints the package version', async () => {
  const r = await cli(['--version'], { home: home.home });
  assert.equal(r.code, 0);
  assert.equal(r.stdout, `${(JSON.parse(readFileSync(join(CLI_ROOT, 'package.json'), 'utf8')) as { version: string }).version}\n`);
});

test('usage errors: exit 2 and one line on stderr', async () => {
  for (const [args, line] of [
    [['cfg', 'push', 'svc:1.0.0'], "hydra-cli: missing required argument 'file'"],
    [['nodes', '--bogus'], "hydra-cli: unknown option '--bogus'"],
    [['cfg'], 'hydra-cli: cfg needs a subcommand: push, pull, list or remove (see: hydra-cli cfg --help)'],
    [['message', 'pish'], "hydra-cli: unknown message subcommand 'pish': create, send or queue (see: hydra-cli message --help)"],
  ] as const) {
    const r = await cli([...args], { home: home.home });
    assert.equal(r.code, 2, args.join(' '));
    assert.equal(r.stderr, `${line}\n`);
    assert.equal(r.stdout, '');
  }
});

test('no command at all prints the overview, as hydra-cli did', async () => {
  const r = await cli([], { home: home.home });
  assert.equal(r.code, 0);
  assert.match(r.stdout, /^Usage: hydra-cli \[options\] \[command\]/);
});

test('a reader that closes the pipe early is not an error', () => {
  const r = spawnSync('bash', ['-c', `set -o pipefail; '${process.execPath}' '${BIN}' completion bash | true`], { env: { PATH: process.env.PATH, HOME: home.home }, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stderr, '');
});

/** Runs the CLI with a pseudo-terminal as stdout (util-linux `script`). */
function onTerminal(args: string[], h: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('script', ['-qec', [process.execPath, BIN, ...args].join(' '), '/dev/null'], { env: { PATH: process.env.PATH, HOME: h }, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 15000);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(out.replace(/\r\n/g, '\n'));
      else reject(new Error(`exit ${code}: ${out}`));
    });
    child.stdin.end();
  });
}

test('a table on a terminal, JSON in a pipe, and --json / --table to choose', async () => {
  const h = tempHome();
  try {
    assert.equal((await cli(['config', 'local', '--url', 'redis://127.0.0.1:6379/15'], { home: h.home })).code, 0);
    const tty = await onTerminal(['config', 'list'], h.home);
    assert.match(tty, /^\s+PROFILE\s+REDIS\n\*\s+local\s+redis:\/\/127\.0\.0\.1:6379\/15\n$/);
    assert.equal((JSON.parse(await onTerminal(['config', 'list', '--json'], h.home)) as { active: string }).active, 'local');
    const piped = await cli(['config', 'list'], { home: h.home });
    assert.equal((JSON.parse(piped.stdout) as { active: string }).active, 'local');
    assert.match((await cli(['config', 'list', '--table'], { home: h.home })).stdout, /PROFILE/);
  } finally {
    h.remove();
  }
});

/** A stand-in redis-cli that records its arguments and REDISCLI_AUTH, then exits with $FAKE_EXIT. */
function fakeRedisCli(): { dir: string; record: string } {
  const dir = join(home.home, 'bin');
  const record = join(home.home, 'redis-cli.args');
  mkdirSync(dir, { recursive: true });
  const script = join(dir, 'redis-cli');
  writeFileSync(script, `#!/bin/sh\n{ printf 'AUTH=%s\\n' "$REDISCLI_AUTH"; for a in "$@"; do printf '%s\\n' "$a"; done; } > '${record}'\nexit "\${FAKE_EXIT:-0}"\n`);
  chmodSync(script, 0o755);
  return { dir, record };
}

test('shell runs redis-cli on the active profile, the password in REDISCLI_AUTH and never in argv', async () => {
  const h = tempHome();
  try {
    await cli(['config', 'prod', '--host', '127.0.0.1', '--port', '6380', '--db', '3', '--password', "pa ss'word"], { home: h.home });
    const fake = fakeRedisCli();
    const env = { PATH: `${fake.dir}:${process.env.PATH}` };
    const r = await cli(['shell', '--exec', '--', 'hgetall', 'hydra:service:nodes'], { home: h.home, env });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(readFileSync(fake.record, 'utf8').split('\n'), ["AUTH=pa ss'word", '-h', '127.0.0.1', '-p', '6380', '-n', '3', 'hgetall', 'hydra:service:nodes', '']);

    const failed = await cli(['shell', '--exec'], { home: h.home, env: { ...env, FAKE_EXIT: '4' } });
    assert.equal(failed.code, 4, 'redis-cli\'s exit code is passed on');
    assert.match(failed.stderr, /redis-cli exited with code 4/);

    const missing = await cli(['shell', '--exec'], { home: h.home, env: { PATH: join(h.home, 'empty') } });
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /redis-cli is not on PATH/);
  } finally {
    h.remove();
  }
});

test('shell prints the command when stdout is not a terminal, so $(hydra-cli shell) works', async () => {
  const h = tempHome();
  try {
    await cli(['config', 'prod', '--host', '127.0.0.1', '--port', '6380', '--db', '3', '--password', "pa ss'word"], { home: h.home });
    const printed = await cli(['shell'], { home: h.home });
    assert.equal(printed.stdout, "redis-cli --no-auth-warning -a 'pa ss'\\''word' -h 127.0.0.1 -p 6380 -n 3\n");
    const tls = await cli(['shell', '--print', '--redis', 'rediss://app:pw@127.0.0.1:6390/2'], { home: h.home });
    assert.equal(tls.stdout, 'redis-cli --no-auth-warning -a pw -h 127.0.0.1 -p 6390 -n 2 --user app --tls\n');
    // What the shell makes of the printed line is what was meant.
    const words = spawnSync('sh', ['-c', `printf '%s\\n' ${printed.stdout.trim()}`], { encoding: 'utf8' }).stdout.split('\n');
    assert.deepEqual(words.slice(0, 4), ['redis-cli', '--no-auth-warning', '-a', "pa ss'word"]);
  } finally {
    h.remove();
  }
});

test('the bash completion script completes commands, subcommands, options and profile names', async () => {
  const h = tempHome();
  try {
    await cli(['config', 'alpha', '--url', 'redis://127.0.0.1:6379/15'], { home: h.home });
    await cli(['config', 'beta', '--url', 'redis://127.0.0.1:6379/14'], { home: h.home });
    const script = (await cli(['completion', 'bash'], { home: h.home })).stdout;
    // The script asks `hydra-cli` for profile names: put this build on PATH under that name.
    const bin = join(h.home, 'bin');
    mkdirSync(bin);
    writeFileSync(join(bin, 'hydra-cli'), `#!/bin/sh\nexec '${process.execPath}' '${BIN}' "$@"\n`);
    chmodSync(join(bin, 'hydra-cli'), 0o755);
    writeFileSync(join(h.home, 'completion.bash'), script);
    const complete = (...words: string[]) => {
      const r = spawnSync('bash', ['-c', `source completion.bash; COMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; _hydra_cli; printf '%s\\n' "\${COMPREPLY[@]}"`], {
        cwd: h.home,
        env: { PATH: `${bin}:${process.env.PATH}`, HOME: h.home },
        encoding: 'utf8',
      });
      assert.equal(r.status, 0, r.stderr);
      return r.stdout.split('\n').filter(Boolean).sort();
    };
    assert.deepEqual(complete('hydra-cli', 'c'), ['cfg', 'completion', 'config']);
    assert.deepEqual(complete('hydra-cli', 'cfg', 'p'), ['pull', 'push']);
    assert.deepEqual(complete('hydra-cli', 'nodes', '--pr'), ['--profile', '--prune']);
    assert.deepEqual(complete('hydra-cli', 'use', ''), ['--help', '--json', '--profile', '--redis', '--table', 'alpha', 'beta']);
    assert.deepEqual(complete('hydra-cli', 'message', 'send', '--b'), ['--broadcast']);
  } finally {
    h.remove();
  }
});

test('the zsh completion script describes every command', async () => {
  const r = await cli(['completion', 'zsh'], { home: home.home });
  assert.equal(r.code, 0);
  assert.match(r.stdout, /^#compdef hydra-cli\n/);
  for (const command of new Set(COMMANDS.map((c) => c[0]!))) assert.match(r.stdout, new RegExp(`'${command}:[^']+'`), command);
  assert.match(r.stdout, /'push:store a config document under <service>\\:<version>'/, 'colons in descriptions are escaped');
  const other = await cli(['completion', 'fish'], { home: home.home });
  assert.equal(other.code, 1);
  assert.match(other.stderr, /completion is available for bash and zsh, not "fish"/);
});
