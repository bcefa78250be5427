import type { NestExpressApplication } from '@nestjs/platform-express';
import { Test } from '@nestjs/testing';
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Browser, BrowserContext, WebSocketRoute } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { AppModule } from '../../sample/app.module.js';
import { buildClientBundle } from '../../sample/build-client-bundle.js';
import { SssClient } from '../../lib/client/index.js';
import { eventually } from '../e2e/support/clients.js';
import { upgradeStatus } from '../e2e/support/upgrade-status.js';
import { ARTIFACTS, ChatPage, launchChromium } from './support/chat-page.js';

const publicDir = fileURLToPath(new URL('../../sample/public', import.meta.url));

/** The sample on the embedded scaler, as `npm start` runs it; `port` 0 picks a free one. */
async function startSample(port = 0): Promise<NestExpressApplication> {
  const moduleRef = await Test.createTestingModule({ imports: [AppModule] }).compile();
  const app = moduleRef.createNestApplication<NestExpressApplication>({ logger: ['error', 'warn'] });
  app.useStaticAssets(publicDir);
  await app.listen(port, '127.0.0.1');
  return app;
}

/** A Node client signed in through the sample's HTTP endpoint, as a script would be. */
async function signedInClient(baseUrl: string, name: string): Promise<SssClient> {
  const response = await fetch(`${baseUrl}api/session`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name }),
  });
  const cookie = response.headers.get('set-cookie')!.split(';')[0];
  const client = new SssClient(`${baseUrl.replace('http', 'ws')}sss`, { headers: { cookie } });
  await client.connect();
  return client;
}

/** Every message on screen, older histories included (they carry no seq). */
const texts = (page: ChatPage) =>
  page.page.$$eval('#messages li.message', (items) => items.map((item) => (item as HTMLElement).dataset.text ?? ''));

describe('the chat sample in Chromium (one instance, embedded scaler)', () => {
  let app: NestExpressApplication;
  let browser: Browser;
  let baseUrl: string;
  const contexts: BrowserContext[] = [];

  async function person(options: Parameters<Browser['newContext']>[0] = {}): Promise<BrowserContext> {
    const context = await browser.newContext(options);
    contexts.push(context);
    return context;
  }

  beforeAll(async () => {
    delete process.env.REDIS_URL;
    delete process.env.MONGO_URL;
    process.env.ANNOUNCE_TOKEN = 'browser-test-token';
    await buildClientBundle(publicDir);
    app = await startSample();
    baseUrl = `http://127.0.0.1:${(app.getHttpServer().address() as { port: number }).port}/`;
    browser = await launchChromium();
    mkdirSync(ARTIFACTS, { recursive: true });
  }, 60_000);

  afterEach(async () => {
    await Promise.all(contexts.splice(0).map((context) => context.close()));
  });

  afterAll(async () => {
    await browser?.close();
    await app?.close();
  });

  it('shows only the sign-in form before sign-in, and a refused name next to it', async () => {
    const page = await (await person()).newPage();
    await page.goto(baseUrl);
    await page.getByLabel('Your name').waitFor();
    expect(await page.locator('#chat').isVisible()).toBe(false);
    expect(await page.getByLabel('Your message').isVisible()).toBe(false);
    // Keyboard focus does not run into the hidden chat.
    await page.getByLabel('Your name').focus();
    for (let i = 0; i < 4; i++) await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.closest('#chat') === null)).toBe(true);

    // The browser's own check stops such a name; the server's answer shows where the person looks.
    await page.evaluate(() => document.getElementById('name')!.removeAttribute('pattern'));
    await page.getByLabel('Your name').fill('no/slashes');
    await page.getByRole('button', { name: 'Enter the chat' }).click();
    await expect
      .poll(() => page.locator('#login-error').textContent())
      .toBe('A name has 1 to 40 letters, digits, spaces, dots or dashes.');
    expect(await page.locator('#login-error').isVisible()).toBe(true);
  });

  it('lets two people chat, and asks for the private room password in the page with a clear answer', async () => {
    const alice = await ChatPage.open(await person(), baseUrl, 'alice');
    const bob = await ChatPage.open(await person(), baseUrl, 'bob');
    await alice.say('hello bob');
    await bob.say('hi alice');
    for (const page of [alice, bob]) {
      await eventually(async () => expect(await texts(page)).toEqual(['hello bob', 'hi alice']));
    }
    expect((await bob.messages()).map((m) => m.seq)).toEqual([1, 2]);

    let dialogs = 0;
    bob.page.on('dialog', (dialog) => {
      dialogs++;
      void dialog.dismiss();
    });
    await bob.join('private', 'not the password');
    const passwordError = bob.page.locator('#password-error');
    await expect.poll(() => passwordError.textContent()).toBe('That is not the password of the private room.');
    expect(await bob.page.getByLabel('Password of the private room').isVisible()).toBe(true);
    expect(await bob.alert()).toBe('');
    // Still in General chat.
    expect(await bob.roomButton('general_chat').getAttribute('aria-current')).toBe('true');

    await bob.page.getByLabel('Password of the private room').fill('letmein');
    await bob.page.getByRole('button', { name: 'Join', exact: true }).click();
    await bob.page.waitForSelector('#rooms button[data-room="private"][aria-current="true"]');
    expect(await passwordError.isVisible()).toBe(false);
    expect(await bob.page.getByLabel('Password of the private room').isVisible()).toBe(false);
    await bob.say('only for the worthy');
    await eventually(async () => expect(await texts(bob)).toEqual(['only for the worthy']));
    expect(dialogs).toBe(0);
    await alice.join('private');
    expect(await alice.page.getByLabel('Password of the private room').isVisible()).toBe(true);
  });

  it('shows a room’s recent messages to someone who joins it later', async () => {
    const carol = await ChatPage.open(await person(), baseUrl, 'carol');
    await carol.join('sport');
    for (const text of ['kick-off at 8', 'bring a ball', 'see you there']) await carol.say(text);
    const dan = await ChatPage.open(await person(), baseUrl, 'dan');
    await dan.join('sport');
    await eventually(async () => expect(await texts(dan)).toEqual(['kick-off at 8', 'bring a ball', 'see you there']));
    await carol.say('and a live one');
    await eventually(async () => expect((await texts(dan)).at(-1)).toBe('and a live one'));
    expect(await texts(dan)).toHaveLength(4);
  });

  it('counts likes once per person, toggles them, and agrees across people and tabs', async () => {
    const ericContext = await person();
    const eric = await ChatPage.open(ericContext, baseUrl, 'eric');
    const ericTab2 = await ChatPage.reopen(ericContext, baseUrl);
    const fay = await ChatPage.open(await person(), baseUrl, 'fay');
    for (const page of [eric, fay]) await page.join('fashion');
    await ericTab2.join('fashion');
    await fay.say('new shoes');
    await fay.say('and a hat');
    const likeOf = (page: ChatPage, text: string) =>
      page.page.getByRole('button', { name: new RegExp(`^Like fay's message "${text}"`) });
    const label = (page: ChatPage, text: string) => likeOf(page, text).getAttribute('aria-label');

    await likeOf(eric, 'new shoes').click();
    for (const page of [eric, ericTab2, fay]) {
      await expect.poll(() => label(page, 'new shoes')).toBe(`Like fay's message "new shoes", 1 like`);
    }
    // The same person in another tab: already liked there too, so a click takes it back.
    expect(await likeOf(ericTab2, 'new shoes').getAttribute('aria-pressed')).toBe('true');
    await likeOf(ericTab2, 'new shoes').click();
    await expect.poll(() => label(fay, 'new shoes')).toBe(`Like fay's message "new shoes", 0 likes`);
    await likeOf(eric, 'new shoes').click();
    await likeOf(fay, 'new shoes').click();
    for (const page of [eric, fay]) {
      await expect.poll(() => label(page, 'new shoes')).toBe(`Like fay's message "new shoes", 2 likes`);
    }
    expect(await label(eric, 'and a hat')).toBe(`Like fay's message "and a hat", 0 likes`);

    // A client that says "liked" twice (a replayed tell) still counts once.
    const zed = await signedInClient(baseUrl, 'zed');
    try {
      await zed.subscribe('rooms/fashion');
      const seq = (await fay.messages()).find((m) => m.text === 'new shoes')!.seq;
      for (let i = 0; i < 2; i++) await zed.tell('like', { room: 'fashion', seq, liked: true });
    } finally {
      await zed.close();
    }
    const gina = await ChatPage.open(await person(), baseUrl, 'gina');
    await gina.join('fashion');
    for (const page of [fay, gina]) {
      await expect.poll(() => label(page, 'new shoes')).toBe(`Like fay's message "new shoes", 3 likes`);
    }
  });

  it('keeps the sign-in and the open rooms across a reload (the cookie is there), and signs out', async () => {
    const context = await person();
    const hal = await ChatPage.open(context, baseUrl, 'hal');
    await hal.join('sport');
    await hal.join('fashion');
    await hal.join('sport');
    await hal.page.reload();
    await hal.waitUntilSignedIn();
    expect(await hal.page.textContent('#who')).toBe('Signed in as hal');
    expect(await hal.page.locator('#login-view').isVisible()).toBe(false);
    // The session's open rooms come back too (session data), with the one being read.
    expect(
      await hal.page.locator('#rooms li.joined').evaluateAll((items) => items.map((li) => li.dataset.room)),
    ).toEqual(['general_chat', 'sport', 'fashion']);
    expect(await hal.roomButton('sport').getAttribute('aria-current')).toBe('true');

    await hal.page.getByRole('button', { name: 'Sign out' }).click();
    await hal.page.getByLabel('Your name').waitFor();
    expect(await hal.page.locator('#chat').isVisible()).toBe(false);
    await hal.page.reload();
    await hal.page.getByLabel('Your name').waitFor();
    expect(await hal.page.locator('#chat').isVisible()).toBe(false);
  });

  it('clears good news by itself, styled apart from errors', async () => {
    const ivy = await ChatPage.open(await person(), baseUrl, 'ivy');
    await ivy.join('sport');
    await ivy.page.getByRole('button', { name: 'Leave Sport' }).click();
    await expect.poll(() => ivy.notice()).toBe('You left Sport.');
    const colors = await ivy.page.evaluate(() => ({
      notice: getComputedStyle(document.getElementById('notice')!).backgroundColor,
      alert: getComputedStyle(document.getElementById('alert')!).backgroundColor,
    }));
    expect(colors.notice).not.toBe(colors.alert);
    expect(await ivy.page.getByRole('status').filter({ hasText: 'You left Sport.' }).count()).toBe(1);
    await expect.poll(() => ivy.notice(), { timeout: 10_000 }).toBe('');
  });

  it('shows who is online in each room, join and leave lines, and who is typing', async () => {
    const rita = await ChatPage.open(await person(), baseUrl, 'rita');
    await rita.join('private', 'letmein');
    await expect.poll(() => rita.page.textContent('#online')).toBe('Online: rita');
    const sam = await ChatPage.open(await person(), baseUrl, 'sam');
    // Sam is not in the private room: the list still counts who is.
    await expect.poll(() => sam.roomButton('private').textContent(), { timeout: 10_000 }).toBe('Private1 online');
    await sam.join('private', 'letmein');
    await expect.poll(() => rita.page.textContent('#online')).toBe('Online: rita, sam');
    await expect.poll(() => rita.lines()).toEqual(['sam joined Private']);
    await expect.poll(() => rita.roomButton('private').textContent()).toBe('Private2 online');
    // Sam's own list comes from its presence() answer, which may land after Rita's join line.
    await expect.poll(() => sam.page.textContent('#online')).toBe('Online: rita, sam');

    await sam.page.getByLabel('Your message').pressSequentially('hel');
    await expect.poll(() => rita.page.textContent('#typing')).toBe('sam is typing…');
    await expect.poll(() => rita.page.textContent('#typing'), { timeout: 6_000 }).toBe('');

    await sam.page.getByRole('button', { name: 'Leave Private' }).click();
    await expect.poll(() => rita.lines()).toEqual(['sam joined Private', 'sam left Private']);
    await expect.poll(() => rita.page.textContent('#online')).toBe('Online: rita');
  });

  it('highlights exactly the messages recovered after a dropped connection', async () => {
    const jack = await ChatPage.open(await person(), baseUrl, 'jack');
    const kimContext = await person();
    // Kim's network, under the test's control: connections pass through until `offline`.
    let offline = false;
    const open = new Set<WebSocketRoute>();
    await kimContext.routeWebSocket(/\/sss/, (route) => {
      if (offline) return void route.close({ code: 4000, reason: 'offline' });
      open.add(route);
      route.connectToServer();
    });
    const kim = await ChatPage.open(kimContext, baseUrl, 'kim');
    await jack.say('before the drop');
    await eventually(async () => expect(await texts(kim)).toContain('before the drop'));

    offline = true;
    for (const route of open) await route.close({ code: 4000, reason: 'network lost' });
    open.clear();
    await expect.poll(() => kim.status()).toBe('reconnecting');
    await jack.say('missed one');
    await jack.say('missed two');
    offline = false;
    await expect.poll(() => kim.status(), { timeout: 15_000 }).toBe('open');
    await eventually(async () => expect(await kim.recoveredTexts()).toEqual(['missed one', 'missed two']));
    await expect.poll(() => kim.notice()).toBe('Back online. 2 messages sent while you were away are highlighted.');
    await jack.say('after the return');
    await eventually(async () => expect((await texts(kim)).at(-1)).toBe('after the return'));
    expect(await kim.recoveredTexts()).toEqual(['missed one', 'missed two']);
    expect(await kim.alert()).toBe('');
    await kim.page.screenshot({ path: `${ARTIFACTS}/chat-recovered-messages.png` });
  });

  it('lays out for a phone (390 px) with no sideways scrolling, and for a desktop; saves screenshots', async () => {
    const leo = await ChatPage.open(await person({ viewport: { width: 1280, height: 800 } }), baseUrl, 'leo');
    const mia = await ChatPage.open(
      await person({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 }),
      baseUrl,
      'mia',
    );
    await leo.join('fashion');
    await mia.join('fashion');
    const longWord = 'supercalifragilisticexpialidocious'.repeat(3);
    await leo.say(`Welcome to the fashion room! ${longWord}`);
    for (let i = 1; i <= 25; i++) await mia.say(`message number ${i} from a phone`);
    for (const page of [leo, mia]) {
      await eventually(async () => expect((await texts(page)).at(-1)).toBe('message number 25 from a phone'));
    }
    const overflow = await mia.page.evaluate(() => ({
      scrollWidth: document.documentElement.scrollWidth,
      clientWidth: document.documentElement.clientWidth,
    }));
    expect(overflow.scrollWidth).toBeLessThanOrEqual(overflow.clientWidth);
    expect(overflow.clientWidth).toBe(390);
    // Rooms, conversation and direct messages stack in one column.
    const boxes = await Promise.all(
      ['#room-nav', '#conversation', '#direct'].map((selector) => mia.page.locator(selector).boundingBox()),
    );
    for (const box of boxes) expect(box!.x + box!.width).toBeLessThanOrEqual(390);
    expect(boxes[0]!.y).toBeLessThan(boxes[1]!.y);
    expect(boxes[1]!.y).toBeLessThan(boxes[2]!.y);

    // The list scrolled to the newest message on both.
    for (const page of [leo, mia]) {
      const last = page.page.locator('#messages li').last();
      expect(await last.isVisible()).toBe(true);
      const inView = await last.evaluate((item) => {
        const list = document.getElementById('scroller')!.getBoundingClientRect();
        const rect = item.getBoundingClientRect();
        return rect.bottom <= list.bottom + 1 && rect.top >= list.top - 1;
      });
      expect(inView).toBe(true);
    }
    await leo.page.screenshot({ path: `${ARTIFACTS}/chat-desktop.png` });
    await mia.page.screenshot({ path: `${ARTIFACTS}/chat-phone-390.png`, fullPage: true });
  });

  it('does not pull someone who scrolled up back down, and offers a way to the new messages', async () => {
    const nora = await ChatPage.open(await person({ viewport: { width: 1280, height: 600 } }), baseUrl, 'nora');
    const omar = await ChatPage.open(await person(), baseUrl, 'omar');
    for (const page of [nora, omar]) await page.join('sport');
    for (let i = 1; i <= 30; i++) await omar.say(`line ${i}`);
    await eventually(async () => expect((await texts(nora)).at(-1)).toBe('line 30'));
    await nora.page.locator('#scroller').evaluate((scroller) => (scroller.scrollTop = 0));
    await omar.say('line 31');
    await eventually(async () => expect((await texts(nora)).at(-1)).toBe('line 31'));
    expect(await nora.page.locator('#scroller').evaluate((scroller) => scroller.scrollTop)).toBe(0);
    await nora.page.getByRole('button', { name: 'New messages below' }).click();
    await expect.poll(() => nora.page.locator('#messages li').last().isVisible()).toBe(true);
    expect(
      await nora.page.locator('#scroller').evaluate((s) => s.scrollHeight - s.scrollTop - s.clientHeight),
    ).toBeLessThan(2);
  });

  it('names every control for assistive technology, each like and leave button apart', async () => {
    const pia = await ChatPage.open(await person(), baseUrl, 'pia');
    await pia.join('fashion');
    for (const text of ['same text', 'same text', 'other text']) await pia.say(text);
    await eventually(async () =>
      expect((await texts(pia)).slice(-3)).toEqual(['same text', 'same text', 'other text']),
    );
    const { page } = pia;
    for (const label of ['Your message', 'To (name)', 'Private message']) {
      expect(await page.getByLabel(label, { exact: true }).count()).toBe(1);
    }
    expect(await page.getByRole('button', { name: 'Leave General chat' }).count()).toBe(1);
    expect(await page.getByRole('button', { name: 'Leave Fashion' }).count()).toBe(1);
    await eventually(async () =>
      expect(await page.getByRole('button', { name: /^Like pia's message/ }).count()).toBe(3),
    );
    expect(await page.getByRole('status').count()).toBeGreaterThanOrEqual(2);
    expect(await page.getByRole('alert').count()).toBeGreaterThanOrEqual(1);
    expect(await page.getByRole('log', { name: 'Fashion' }).count()).toBe(1);
    // Every button has a name; leave buttons differ from each other.
    const names = await page
      .locator('#chat button:visible')
      .evaluateAll((buttons) =>
        buttons.map((button) => button.getAttribute('aria-label') ?? button.textContent?.trim() ?? ''),
      );
    expect(names.every((name) => name.length > 0)).toBe(true);
    const leaves = names.filter((name) => name.startsWith('Leave'));
    expect(new Set(leaves).size).toBe(leaves.length);
    const likes = names.filter((name) => name.startsWith('Like'));
    expect(likes.slice(-3)).toEqual([
      `Like pia's message "same text", 0 likes`,
      `Like pia's message "same text", 0 likes`,
      `Like pia's message "other text", 0 likes`,
    ]);
  });

  it('says plainly that history was lost when the embedded server restarted', async () => {
    const port = (app.getHttpServer().address() as { port: number }).port;
    const quinn = await ChatPage.open(await person(), baseUrl, 'quinn');
    await quinn.say('before the restart');
    await app.close();
    app = await startSample(port);
    await expect.poll(() => quinn.status(), { timeout: 15_000 }).toBe('open');
    await expect
      .poll(() => quinn.alert(), { timeout: 10_000 })
      .toBe(
        'The server restarted and lost the history of General chat: messages sent while you were disconnected cannot be shown. New messages appear as usual.',
      );
    await quinn.say('after the restart');
    await eventually(async () =>
      expect((await texts(quinn)).slice(-2)).toEqual(['before the restart', 'after the restart']),
    );
    // The new history numbers from 1 again; only its messages carry a seq on screen.
    expect((await quinn.messages()).map((m) => m.seq)).toEqual([1]);
  });

  it('delivers a direct message to every tab of the recipient', async () => {
    const carolContext = await person();
    const carolTab1 = await ChatPage.open(carolContext, baseUrl, 'carol');
    const carolTab2 = await ChatPage.reopen(carolContext, baseUrl);
    const dave = await ChatPage.open(await person(), baseUrl, 'dave');
    await dave.directMessage('carol', 'see you at noon');
    for (const tab of [carolTab1, carolTab2]) {
      await eventually(async () => expect(await tab.directMessages()).toEqual(['dave → carol: see you at noon']));
    }
    await eventually(async () => expect(await dave.directMessages()).toEqual(['dave → carol: see you at noon']));
  });

  it('shows an announcement posted to the HTTP endpoint with the bearer token on every page', async () => {
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
    const response = await fetch(`${baseUrl}api/session`, { headers: { cookie: 'chat_session=forged.value' } });
    expect(response.status).toBe(401);
  });

  it('shows the server time from an ask', async () => {
    const erin = await ChatPage.open(await person(), baseUrl, 'erin');
    await eventually(async () => expect(await erin.page.textContent('#server-time')).toMatch(/\d/), 5_000);
  });
});
