import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

/** Debian's Chromium, headless, with no network of its own (the tests never download a browser). */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
}

/** Where the browser tests leave their screenshots (ignored by git, kept by CI). */
export const ARTIFACTS = 'test-artifacts';

/** The names the page gives its rooms. */
export const ROOM_NAMES: Record<string, string> = {
  general_chat: 'General chat',
  sport: 'Sport',
  fashion: 'Fashion',
  private: 'Private',
};

/** One browser tab of the chat sample, driven like a person would: by labels and roles. */
export class ChatPage {
  private constructor(readonly page: Page) {}

  /** Opens the sample in a new tab and signs in (the page then opens General chat by itself). */
  static async open(context: BrowserContext, baseUrl: string, name: string): Promise<ChatPage> {
    const page = await context.newPage();
    await page.goto(baseUrl);
    await page.getByLabel('Your name').fill(name);
    await page.getByRole('button', { name: 'Enter the chat' }).click();
    const chat = new ChatPage(page);
    await chat.waitUntilSignedIn();
    return chat;
  }

  /** A tab of a context that is already signed in (the cookie is there): it reopens the session's rooms. */
  static async reopen(context: BrowserContext, baseUrl: string): Promise<ChatPage> {
    const page = await context.newPage();
    await page.goto(baseUrl);
    const chat = new ChatPage(page);
    await chat.waitUntilSignedIn();
    return chat;
  }

  async waitUntilSignedIn(): Promise<void> {
    await this.page.waitForSelector('#status[data-status="open"]');
    await this.page.waitForSelector('#chat:not([hidden])');
    await this.page.waitForSelector('#rooms button.room[aria-current="true"]');
  }

  roomButton(room: string) {
    return this.page.locator(`#rooms button.room[data-room="${room}"]`);
  }

  /** Joins a room; `password` fills the private room's password form. */
  async join(room: string, password?: string): Promise<void> {
    await this.roomButton(room).click();
    if (password !== undefined) {
      await this.page.getByLabel('Password of the private room').fill(password);
      await this.page.getByRole('button', { name: 'Join', exact: true }).click();
    }
  }

  async say(text: string): Promise<void> {
    await this.page.getByLabel('Your message').fill(text);
    await this.page.locator('#say-form').getByRole('button', { name: 'Send' }).click();
    await this.page.waitForFunction(() => (document.getElementById('say-text') as HTMLInputElement).value === '');
  }

  async directMessage(to: string, text: string): Promise<void> {
    const form = this.page.locator('#dm-form');
    await form.getByLabel('To (name)').fill(to);
    await form.getByLabel('Private message').fill(text);
    await form.getByRole('button', { name: 'Send privately' }).click();
  }

  /** The messages of the room on screen, as (seq, text). */
  messages(): Promise<Array<{ seq: number; text: string }>> {
    return this.page.$$eval('#messages li[data-seq]', (items) =>
      items.map((item) => ({
        seq: Number((item as HTMLElement).dataset.seq),
        text: (item as HTMLElement).dataset.text ?? '',
      })),
    );
  }

  /** Texts of the messages highlighted as recovered after a reconnect. */
  recoveredTexts(): Promise<string[]> {
    return this.page.$$eval('#messages li.recovered', (items) =>
      items.map((item) => (item as HTMLElement).dataset.text ?? ''),
    );
  }

  /** The join/leave lines of the room on screen. */
  lines(): Promise<string[]> {
    return this.page.$$eval('#messages li.line', (items) => items.map((item) => item.textContent ?? ''));
  }

  directMessages(): Promise<string[]> {
    return this.page.$$eval('#dms li', (items) => items.map((item) => item.textContent ?? ''));
  }

  /** The good-news notice (empty once it cleared). */
  notice(): Promise<string> {
    return this.page.textContent('#notice').then((text) => text ?? '');
  }

  /** The error notice (empty once it cleared). */
  alert(): Promise<string> {
    return this.page.textContent('#alert').then((text) => text ?? '');
  }

  status(): Promise<string | null> {
    return this.page.getAttribute('#status', 'data-status');
  }
}
