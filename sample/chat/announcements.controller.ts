import { Body, Controller, Headers, HttpCode, Logger, Post, UnauthorizedException } from '@nestjs/common';
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { SssPublisher } from '../../lib/index.js';

/**
 * A plain HTTP endpoint that reaches every socket on every instance, for operators only: it needs
 * `Authorization: Bearer <ANNOUNCE_TOKEN>`. Without `ANNOUNCE_TOKEN`, each instance makes a token
 * of its own at startup and logs it.
 */
@Controller('announcements')
export class AnnouncementsController {
  private readonly token: Buffer;

  constructor(private readonly publisher: SssPublisher) {
    const configured = process.env.ANNOUNCE_TOKEN;
    const token = configured || randomBytes(18).toString('base64url');
    if (!configured) {
      new Logger('Announcements').log(`POST /announcements with the header "Authorization: Bearer ${token}"`);
    }
    this.token = Buffer.from(token);
  }

  @Post()
  @HttpCode(202)
  async announce(
    @Body() body: { text?: string },
    @Headers('authorization') authorization?: string,
  ): Promise<{ sent: true }> {
    const given = Buffer.from(/^Bearer (.+)$/.exec(authorization ?? '')?.[1] ?? '');
    if (given.length !== this.token.length || !timingSafeEqual(given, this.token)) {
      throw new UnauthorizedException('Announcements need "Authorization: Bearer <ANNOUNCE_TOKEN>".');
    }
    await this.publisher.broadcast('announcement', { text: String(body.text ?? '').slice(0, 500), at: Date.now() });
    return { sent: true };
  }
}
