/**
 * The browser tests' Chromium: Debian's when installed, else the one shipped in
 * @sparticuz/chromium, which must really launch and render here.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { chromium } from 'playwright-core';
import { findChromium, SYSTEM_CHROMIUM_PATHS } from '../src/index.js';

async function render(launch: Awaited<ReturnType<typeof findChromium>>): Promise<{ text: string; png: Buffer }> {
  const browser = await chromium.launch({ executablePath: launch.executablePath, args: launch.args, env: launch.env, headless: true });
  try {
    const page = await browser.newPage({ viewport: { width: 320, height: 120 } });
    await page.setContent('<body style="margin:0;background:#fff"><h1 id="t" style="font:40px sans-serif">hydra ü</h1></body>');
    const text = await page.evaluate(() => document.getElementById('t')!.textContent!);
    return { text, png: await page.screenshot() };
  } finally {
    await browser.close();
  }
}

test('with no system Chromium, the one shipped in @sparticuz/chromium launches and draws text', async () => {
  const launch = await findChromium([]);
  assert.match(launch.source, /^@sparticuz\/chromium@143\./);
  const { text, png } = await render(launch);
  assert.equal(text, 'hydra ü');
  // The heading is drawn: a page of one colour compresses to a few hundred bytes.
  assert.ok(png.length > 2000, `screenshot of ${png.length} bytes: no text drawn?`);
});

test('a system Chromium comes first when one is installed, the first of the paths that is executable', async () => {
  const launch = await findChromium(['/nonexistent/chromium', process.execPath]);
  assert.equal(launch.executablePath, process.execPath);
  assert.equal(launch.source, process.execPath);
});

test('by default Debian\'s Chromium is used when installed, else the npm one, and it draws text', async () => {
  const launch = await findChromium();
  const debian = SYSTEM_CHROMIUM_PATHS.find((p) => existsSync(p));
  if (debian) assert.equal(launch.source, debian);
  else assert.match(launch.source, /^@sparticuz\/chromium@/);
  const { text } = await render(launch);
  assert.equal(text, 'hydra ü');
});
