import { Body, Controller, HttpCode, Post } from '@nestjs/common';
import { SssPublisher } from '../../lib/index.js';

/** A plain HTTP endpoint that reaches every socket on every instance. */
@Controller('announcements')
export class AnnouncementsController {
  constructor(private readonly publisher: SssPublisher) {}

  @Post()
  @HttpCode(202)
  async announce(@Body() body: { text?: string }): Promise<{ sent: true }> {
    await this.publisher.broadcast('announcement', { text: String(body.text ?? '').slice(0, 500), at: Date.now() });
    return { sent: true };
  }
}
