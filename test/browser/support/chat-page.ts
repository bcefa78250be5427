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

/** One browser tab of the chat sample, driven like a person would. */
export class ChatPage {
  private constructor(readonly page: Page) {}

  static async open(context: BrowserContext, baseUrl: string, name: string): Promise<ChatPage> {
    const page = await context.newPage();
    await page.goto(baseUrl);
    await page.fill('#name', name);
    await page.click('#login button');
    await page.waitForSelector('#status[data-status="open"]');
    await page.waitForSelector('#chat:not([hidden])');
    return new ChatPage(page);
  }

  /** Joins a room; `password` answers the private room's prompt. */
  async join(room: string, password?: string): Promise<void> {
    if (password !== undefined) this.page.once('dialog', (dialog) => void dialog.accept(password));
    await this.page.click(`#rooms a:text-is("${room}")`);
  }

  async say(text: string): Promise<void> {
    await this.page.fill('#say-text', text);
    await this.page.click('#say-form button');
    await this.page.waitForFunction(() => (document.getElementById('say-text') as HTMLInputElement).value === '');
  }

  async directMessage(to: string, text: string): Promise<void> {
    await this.page.fill('#dm-to', to);
    await this.page.fill('#dm-text', text);
    await this.page.click('#dm-form button');
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

  directMessages(): Promise<string[]> {
    return this.page.$$eval('#dms li', (items) => items.map((item) => item.textContent ?? ''));
  }

  notice(): Promise<string> {
    return this.page.textContent('#notice').then((text) => text ?? '');
  }

  status(): Promise<string | null> {
    return this.page.getAttribute('#status', 'data-status');
  }
}
