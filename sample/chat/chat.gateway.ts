import { UseGuards, UsePipes, ValidationPipe } from '@nestjs/common';
import {
  Channel,
  ChannelParams,
  ConnectedSocket,
  OnAsk,
  OnTell,
  Payload,
  SssError,
  SssGateway,
  SssPublisher,
  type SssSocket,
} from '../../lib/index.js';
import { DirectMessageDto, LikeDto, SayDto } from './chat.dto.js';
import { RoomPasswordGuard } from './room-password.guard.js';

@SssGateway()
@UsePipes(new ValidationPipe({ whitelist: true, forbidNonWhitelisted: true }))
export class ChatGateway {
  constructor(private readonly publisher: SssPublisher) {}

  @OnAsk('serverTime')
  serverTime(): number {
    return Date.now();
  }

  /** Which instance serves this socket (shown on the page: useful behind a balancer). */
  @OnAsk('instance')
  instance(): string {
    return process.env.INSTANCE_NAME ?? 'single';
  }

  @Channel('rooms/:room')
  @UseGuards(RoomPasswordGuard)
  joinRoom(@ChannelParams('room') room: string): { room: string } {
    return { room };
  }

  @OnTell('say')
  async say(@Payload() message: SayDto, @ConnectedSocket() socket: SssSocket): Promise<void> {
    this.assertJoined(socket, message.room);
    await this.publisher.publish(`rooms/${message.room}`, 'message', {
      from: socket.userId,
      text: message.text,
      at: Date.now(),
    });
  }

  @OnTell('like')
  async like(@Payload() like: LikeDto, @ConnectedSocket() socket: SssSocket): Promise<void> {
    this.assertJoined(socket, like.room);
    await this.publisher.publish(`rooms/${like.room}`, 'like', { seq: like.seq, by: socket.userId });
  }

  @OnTell('dm')
  async directMessage(@Payload() dm: DirectMessageDto, @ConnectedSocket() socket: SssSocket): Promise<void> {
    const message = { from: socket.userId, to: dm.to, text: dm.text, at: Date.now() };
    await this.publisher.toUser(dm.to, 'dm', message);
    // The sender's other tabs see what it sent.
    if (socket.userId && socket.userId !== dm.to) await this.publisher.toUser(socket.userId, 'dm', message);
  }

  private assertJoined(socket: SssSocket, room: string): void {
    if (!socket.isSubscribed(`rooms/${room}`)) throw new SssError('NOT_JOINED', `Join ${room} before writing to it.`);
  }
}
