import type { NestExpressApplication } from '@nestjs/platform-express';
import { Test } from '@nestjs/testing';
import { fileURLToPath } from 'node:url';
import type { Browser, BrowserContext } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { AppModule } from '../../sample/app.module.js';
import { buildClientBundle } from '../../sample/build-client-bundle.js';
import { eventually } from '../e2e/support/clients.js';
import { upgradeStatus } from '../e2e/support/upgrade-status.js';
import { ChatPage, launchChromium } from './support/chat-page.js';

const publicDir = fileURLToPath(new URL('../../sample/public', import.meta.url));

describe('the chat sample in Chromium (one instance, embedded scaler)', () => {
  let app: NestExpressApplication;
  let browser: Browser;
  let baseUrl: string;
  const contexts: BrowserContext[] = [];

  async function person(): Promise<BrowserContext> {
    const context = await browser.newContext();
    contexts.push(context);
    return context;
  }

  beforeAll(async () => {
    delete process.env.REDIS_URL;
    delete process.env.MONGO_URL;
    process.env.ANNOUNCE_TOKEN = 'browser-test-token';
    await buildClientBundle(publicDir);
    const moduleRef = await Test.createTestingModule({ imports: [AppModule] }).compile();
    app = moduleRef.createNestApplication<NestExpressApplication>({ logger: ['error', 'warn'] });
    app.useStaticAssets(publicDir);
    await app.listen(0, '127.0.0.1');
    baseUrl = `http://127.0.0.1:${(app.getHttpServer().address() as { port: number }).port}/`;
    browser = await launchChromium();
  }, 60_000);

  afterEach(async () => {
    await Promise.all(contexts.splice(0).map((context) => context.close()));
  });

  afterAll(async () => {
    await browser?.close();
    await app?.close();
  });

  it('lets two people chat in a room, and keeps the private room behind its password', async () => {
    const alice = await ChatPage.open(await person(), baseUrl, 'alice');
    const bob = await ChatPage.open(await person(), baseUrl, 'bob');
    await alice.join('general_chat');
    await bob.join('general_chat');
    await alice.say('hello bob');
    await bob.say('hi alice');
    for (const page of [alice, bob]) {
      await eventually(async () =>
        expect((await page.messages()).map((m) => m.text)).toEqual(['hello bob', 'hi alice']),
      );
    }
    expect((await bob.messages()).map((m) => m.seq)).toEqual([1, 2]);

    await bob.join('private', 'not the password');
    await eventually(async () => expect(await bob.notice()).toMatch(/Cannot join private: Forbidden/));
    await alice.join('private', 'letmein');
    await alice.say('only for the worthy');
    await eventually(async () => expect((await alice.messages()).map((m) => m.text)).toEqual(['only for the worthy']));
    expect((await bob.messages()).map((m) => m.text)).not.toContain('only for the worthy');
    expect(await bob.page.$$eval('#rooms li.active a', (links) => links.map((a) => a.textContent))).toEqual([
      'general_chat',
    ]);
  });

  it('delivers a direct message to every tab of the recipient', async () => {
    const carolContext = await person();
    const carolTab1 = await ChatPage.open(carolContext, baseUrl, 'carol');
    const carolTab2 = await ChatPage.open(carolContext, baseUrl, 'carol');
    const dave = await ChatPage.open(await person(), baseUrl, 'dave');
    await dave.directMessage('carol', 'see you at noon');
    for (const tab of [carolTab1, carolTab2]) {
      await eventually(async () => expect(await tab.directMessages()).toEqual(['dave → carol: see you at noon']));
    }
    await eventually(async () => expect(await dave.directMessages()).toEqual(['dave → carol: see you at noon']));
  });

  it('shows an announcement posted to the HTTP endpoint on every page', async () => {
    const pages = await Promise.all(
      ['frank', 'grace'].map(async (name) => ChatPage.open(await person(), baseUrl, name)),
    );
    const post = (headers: Record<string, string>) =>
      fetch(`${baseUrl}announcements`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify({ text: 'Maintenance at noon' }),
      });
    expect((await post({})).status).toBe(401);
    expect((await post({ authorization: 'Bearer wrong' })).status).toBe(401);
    expect((await post({ authorization: 'Bearer browser-test-token' })).status).toBe(202);
    for (const page of pages) {
      await eventually(async () => expect(await page.page.textContent('#announcement')).toBe('Maintenance at noon'));
    }
  });

  it('treats a malformed session cookie as no session (401), not as a server error', async () => {
    const url = `${baseUrl.replace('http', 'ws')}sss?v=1`;
    expect(await upgradeStatus(url, { cookie: 'chat_session=%E0%A4%A' })).toMatchObject({ status: 401 });
  });

  it('shows the server time from an ask', async () => {
    const erin = await ChatPage.open(await person(), baseUrl, 'erin');
    await eventually(async () => expect(await erin.page.textContent('#server-time')).toMatch(/server time/), 5_000);
  });
});
