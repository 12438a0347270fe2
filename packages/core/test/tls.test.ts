/** TLS through a rediss:// URL, against a redis-server of the test's own with a certificate made here. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, waitFor } from './helpers.js';

test('a service registers over TLS (rediss://) when its CA is trusted', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'hydra-ts-tls-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const ssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
  ssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '1', '-subj', '/CN=hydra-ts test CA');
  ssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'srv.key', '-out', 'srv.csr', '-subj', '/CN=127.0.0.1');
  writeFileSync(join(dir, 'ext'), 'subjectAltName=IP:127.0.0.1');
  ssl('x509', '-req', '-in', 'srv.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'srv.pem', '-days', '1', '-extfile', 'ext');

  const TLS_PORT = await freePort();
  const server = spawn('redis-server', ['--port', '0', '--tls-port', String(TLS_PORT), '--bind', '127.0.0.1', '--tls-cert-file', 'srv.pem', '--tls-key-file', 'srv.key', '--tls-ca-cert-file', 'ca.pem', '--tls-auth-clients', 'no', '--save', '', '--appendonly', 'no', '--dir', dir], { cwd: dir, stdio: 'ignore' });
  t.after(() => server.kill('SIGKILL'));

  // Node reads NODE_EXTRA_CA_CERTS only at start, so the service runs in a child process.
  const script = `
    const { Hydra } = require(${JSON.stringify(join(__dirname, '..', 'src', 'index.js'))});
    const { pino } = require('pino');
    Hydra.create({ hydra: { serviceName: 'tls-svc', serviceIP: '127.0.0.1', redis: { url: 'rediss://127.0.0.1:${TLS_PORT}/0' } } }, { logger: pino({ level: 'silent' }), env: {} })
      .then(async (h) => { await h.registerService(); await new Promise((r) => setTimeout(r, 300)); console.log(JSON.stringify((await h.getServicePresence('tls-svc')).map((i) => i.instanceID === h.instanceId))); await h.close(); })
      .catch((e) => { console.log('ERR ' + e.message); process.exitCode = 1; });`;
  const run = (env: NodeJS.ProcessEnv) => spawnSync(process.execPath, ['-e', script], { env: { ...process.env, ...env }, encoding: 'utf8', timeout: 30_000 });
  let last = '';
  const trusted = await waitFor('TLS service registered', () => {
    const r = run({ NODE_EXTRA_CA_CERTS: join(dir, 'ca.pem') });
    last = r.stdout + r.stderr;
    return r.stdout.trim() === '[true]' ? r : undefined;
  }, 20_000).catch((e: Error) => {
    throw new Error(`${e.message}; last attempt printed: ${last}`);
  });
  assert.equal(trusted.status, 0);

  const untrusted = run({ NODE_EXTRA_CA_CERTS: '' });
  assert.equal(untrusted.status, 1);
  assert.match(untrusted.stdout, new RegExp(`ERR cannot reach Redis at rediss://127\\.0\\.0\\.1:${TLS_PORT}/0`));
});
