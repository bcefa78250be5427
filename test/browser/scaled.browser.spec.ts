import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, sleep } from '../e2e/support/clients.js';
import { freePort } from '../support/free-port.js';
import { ARTIFACTS, ChatPage, launchChromium } from './support/chat-page.js';
import { startSender } from './support/sender.js';

const run = promisify(execFile);

/** The scaled sample (Redis, a MongoDB-compatible server, 3 instances, nginx) on free ports. */
async function scaledEnvironment(): Promise<NodeJS.ProcessEnv> {
  const [nginx, a, b, c, redis, mongo] = await Promise.all(Array.from({ length: 6 }, () => freePort()));
  return {
    ...process.env,
    STATE_DIR: `${process.cwd()}/.tmp/scaled-browser-${nginx}`,
    NGINX_PORT: String(nginx),
    INSTANCE_PORTS: `${a} ${b} ${c}`,
    REDIS_PORT: String(redis),
    MONGO_PORT: String(mongo),
  };
}

describe('the chat sample scaled behind nginx, in Chromium', () => {
  let env: NodeJS.ProcessEnv;
  let browser: Browser;
  let baseUrl: string;

  beforeAll(async () => {
    env = await scaledEnvironment();
    await run('bash', ['scripts/scaled-sample.sh', 'start'], { env });
    baseUrl = `http://127.0.0.1:${env.NGINX_PORT}/`;
    browser = await launchChromium();
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    if (env) await run('bash', ['scripts/scaled-sample.sh', 'stop'], { env });
  });

  it('shows who is online across instances, with join and leave lines', async () => {
    const uma = await ChatPage.open(await browser.newContext(), baseUrl, 'uma');
    const instanceOf = async (page: ChatPage) => {
      await eventually(async () => expect(await page.page.textContent('#instance')).toMatch(/^server i\d$/));
      return page.page.textContent('#instance');
    };
    const umaInstance = await instanceOf(uma);
    // Round robin: a second person lands on another instance within a few tries.
    let vic: ChatPage | undefined;
    for (let attempt = 0; attempt < 6 && !vic; attempt++) {
      const candidate = await ChatPage.open(await browser.newContext(), baseUrl, 'vic');
      if ((await instanceOf(candidate)) !== umaInstance) vic = candidate;
      else await candidate.page.context().close();
    }
    expect(vic, 'a page on another instance than the first').toBeDefined();
    await expect.poll(() => uma.page.textContent('#online')).toBe('Online: uma, vic');
    await expect.poll(() => vic!.page.textContent('#online')).toBe('Online: uma, vic');
    await expect.poll(() => uma.lines()).toContain('vic joined General chat');
    await vic!.page.context().close();
    await expect.poll(() => uma.lines(), { timeout: 10_000 }).toContain('vic left General chat');
    await expect.poll(() => uma.page.textContent('#online')).toBe('Online: uma');
    await uma.page.context().close();
  }, 60_000);

  it('survives the death of an instance: pages reconnect elsewhere and end with every message, in order, once', async () => {
    const pages = await Promise.all(
      ['alice', 'bob'].map(async (name) => ChatPage.open(await browser.newContext(), baseUrl, name)),
    );
    for (const page of pages) await page.join('sport');
    const sender = await startSender(baseUrl);
    await eventually(async () => {
      for (const page of pages) expect((await page.messages()).length).toBeGreaterThan(10);
    }, 10_000);

    const [alice] = pages;
    const servedBy = (await alice.page.textContent('#instance'))!.replace('server ', '');
    const victim = servedBy.replace('i', 'instance-');
    const pid = Number(readFileSync(`${env.STATE_DIR}/${victim}.pid`, 'utf8'));
    process.kill(pid, 'SIGKILL');

    // The page moves to another instance by itself, with no error to read.
    await eventually(
      async () => expect(await alice.page.textContent('#instance')).not.toBe(`server ${servedBy}`),
      15_000,
    );
    expect(await alice.status()).toBe('open');
    await sleep(1_000);
    const lastSeq = await sender.stop();
    expect(lastSeq).toBeGreaterThan(20);

    const everySeq = Array.from({ length: lastSeq }, (_, index) => index + 1);
    for (const page of pages) {
      await eventually(async () => expect((await page.messages()).map((m) => m.seq)).toEqual(everySeq), 15_000);
    }
    mkdirSync(ARTIFACTS, { recursive: true });
    await alice.page.screenshot({ path: `${ARTIFACTS}/scaled-chat-after-failover.png`, fullPage: true });
    expect(await alice.status()).toBe('open');
    expect(await alice.alert()).toBe('');
  }, 90_000);
});
