import { Module } from '@nestjs/common';
import { SssModule } from '../lib/index.js';
import { AnnouncementsController } from './chat/announcements.controller.js';
import { ChatGateway } from './chat/chat.gateway.js';
import { NameSessionGuard } from './chat/name-session.guard.js';
import { RoomPasswordGuard } from './chat/room-password.guard.js';

@Module({
  imports: [
    SssModule.forRootAsync({
      // With no `scaler`, messages, order and recovery live in this process (the embedded default).
      useFactory: () => ({ path: '/sss', sessionGuards: NameSessionGuard }),
    }),
  ],
  controllers: [AnnouncementsController],
  providers: [ChatGateway, NameSessionGuard, RoomPasswordGuard],
})
export class AppModule {}
