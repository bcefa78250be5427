import { execFile } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { promisify } from 'node:util';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, sleep } from '../e2e/support/clients.js';
import { freePort } from '../support/free-port.js';
import { ManagedProcess } from '../support/managed-process.js';
import { ARTIFACTS, ChatPage, launchChromium } from './support/chat-page.js';
import { startSender } from './support/sender.js';

const run = promisify(execFile);

describe('the chat sample on every core (npm run sample:cluster), in Chromium', () => {
  let sample: ManagedProcess;
  let browser: Browser;
  let baseUrl: string;

  beforeAll(async () => {
    await run('npx', ['tsc', '-p', 'tsconfig.sample.json']);
    const port = await freePort();
    sample = ManagedProcess.start('sample:cluster', process.execPath, ['dist/sample/main.js'], {
      ...process.env,
      SSS_CLUSTER: '1',
      PORT: String(port),
      ANNOUNCE_TOKEN: 'cluster-browser-test',
    });
    await sample.waitForOutput(/Chat sample on \d+ workers/, 60_000);
    baseUrl = `http://127.0.0.1:${port}/`;
    browser = await launchChromium();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await sample?.stop('SIGTERM', 10_000);
  });

  it('hides a worker crash from the page: a brief status change, then every message in order, once', async () => {
    const pages = await Promise.all(
      ['wes', 'xia'].map(async (name) => ChatPage.open(await browser.newContext(), baseUrl, name)),
    );
    for (const page of pages) await page.join('sport');
    const [wes] = pages;
    // Every status the page goes through, from now on.
    await wes.page.evaluate(() => {
      const seen: string[] = [];
      (window as unknown as { statuses: string[] }).statuses = seen;
      const status = document.getElementById('status')!;
      new MutationObserver(() => seen.push(status.dataset.status ?? '')).observe(status, { attributes: true });
    });
    const sender = await startSender(baseUrl);
    await eventually(async () => {
      for (const page of pages) expect((await page.messages()).length).toBeGreaterThan(10);
    }, 10_000);

    const servedBy = await wes.page.textContent('#instance');
    const workerPid = Number(/^server worker (\d+)$/.exec(servedBy ?? '')?.[1]);
    expect(workerPid, `a worker pid in "${servedBy}"`).toBeGreaterThan(0);
    expect(workerPid).not.toBe(sample.pid);
    const killedAt = Date.now();
    process.kill(workerPid, 'SIGKILL');

    await eventually(async () => expect(await wes.page.textContent('#instance')).not.toBe(servedBy), 15_000);
    const backAfterMs = Date.now() - killedAt;
    await sleep(1_000);
    const lastSeq = await sender.stop();
    expect(lastSeq).toBeGreaterThan(20);
    const everySeq = Array.from({ length: lastSeq }, (_, index) => index + 1);
    for (const page of pages) {
      await eventually(async () => expect((await page.messages()).map((m) => m.seq)).toEqual(everySeq), 15_000);
    }
    const statuses = await wes.page.evaluate(() => (window as unknown as { statuses: string[] }).statuses);
    expect(statuses).toContain('reconnecting');
    expect(statuses.at(-1)).toBe('open');
    expect(await wes.alert()).toBe('');
    expect(backAfterMs).toBeLessThan(5_000);
    console.log(`worker ${workerPid} killed: the page named its new worker after ${backAfterMs} ms`);
    mkdirSync(ARTIFACTS, { recursive: true });
    await wes.page.screenshot({ path: `${ARTIFACTS}/cluster-chat-after-worker-crash.png` });
    for (const page of pages) await page.page.context().close();
  }, 90_000);
});
