import { UseGuards, UsePipes, ValidationPipe } from '@nestjs/common';
import {
  Channel,
  ChannelParams,
  ConnectedSocket,
  InjectScaler,
  OnAsk,
  OnTell,
  Payload,
  SssError,
  SssGateway,
  SssPublisher,
  type ChannelPosition,
  type Scaler,
  type SssSocket,
} from '../../lib/index.js';
import { DirectMessageDto, LikeDto, OpenRoomsDto, RoomDto, ROOMS, SayDto } from './chat.dto.js';
import { RoomPasswordGuard } from './room-password.guard.js';

/** How many of a room's latest events (messages and likes) a page gets when it joins. */
export const HISTORY_LENGTH = 200;

/** One stored event of a room, as the page replays it. */
export interface RoomEvent {
  seq: number;
  topic: string;
  data: unknown;
}

/** How long a session's open rooms are remembered after their last change. */
const OPEN_ROOMS_TTL_MS = 7 * 24 * 3_600_000;

/** How many people are in a room right now (the room list shows it for rooms not joined). */
export interface RoomOccupancy {
  room: string;
  online: number;
}

/** What joining a room answers: the room's position when the page (re)subscribed. */
export interface JoinedRoom {
  room: string;
  head: ChannelPosition;
}

@SssGateway()
@UsePipes(new ValidationPipe({ whitelist: true, forbidNonWhitelisted: true }))
export class ChatGateway {
  constructor(
    private readonly publisher: SssPublisher,
    @InjectScaler() private readonly scaler: Scaler,
  ) {}

  @OnAsk('serverTime')
  serverTime(): number {
    return Date.now();
  }

  /** Which instance serves this socket when scaled out (`INSTANCE_NAME`), else null. */
  @OnAsk('instance')
  instance(): string | null {
    return process.env.INSTANCE_NAME ?? null;
  }

  /**
   * The rooms this session had open (session data: shared by every instance, so a reload that lands
   * on another one finds them too), or null.
   */
  @OnAsk('openRooms')
  async openRooms(@ConnectedSocket() socket: SssSocket): Promise<OpenRoomsDto | null> {
    return (await socket.session.get<OpenRoomsDto>('openRooms')) ?? null;
  }

  @OnTell('openRooms')
  async rememberOpenRooms(@Payload() open: OpenRoomsDto, @ConnectedSocket() socket: SssSocket): Promise<void> {
    await socket.session.set('openRooms', { rooms: open.rooms, current: open.current }, { ttlMs: OPEN_ROOMS_TTL_MS });
  }

  /** Who is in each room, counted across every instance (names only for those who joined it). */
  @OnAsk('rooms')
  async rooms(): Promise<RoomOccupancy[]> {
    return Promise.all(
      ROOMS.map(async (room) => ({ room, online: (await this.publisher.presence(`rooms/${room}`)).length })),
    );
  }

  /**
   * Joining a room answers with its current position: after a reconnect, the messages up to it that
   * arrive are exactly the ones recovered, which the page highlights. Rooms track presence: who is
   * in them, and join/leave events, on every instance.
   */
  @Channel('rooms/:room', { presence: true })
  @UseGuards(RoomPasswordGuard)
  async joinRoom(@ChannelParams('room') room: string): Promise<JoinedRoom> {
    return { room, head: await this.scaler.position(`rooms/${room}`) };
  }

  /**
   * The latest events of a joined room, read from the channel's history (the same store recovery
   * uses, so every instance answers alike). The page asks right after subscribing and merges by seq.
   */
  @OnAsk('history')
  async history(@Payload() { room }: RoomDto, @ConnectedSocket() socket: SssSocket): Promise<RoomEvent[]> {
    this.assertJoined(socket, room);
    const channel = `rooms/${room}`;
    const head = await this.scaler.position(channel);
    // Retention may have dropped the oldest of them (by age): then fewer, newer ones.
    for (const length of [HISTORY_LENGTH, HISTORY_LENGTH / 4, HISTORY_LENGTH / 20]) {
      const history = await this.scaler.historySince(channel, {
        epoch: head.epoch,
        seq: Math.max(0, head.seq - length),
      });
      if (history.recovered) {
        return history.messages
          .filter((message) => !message.placeholder)
          .map(({ seq, topic, data }) => ({ seq, topic, data }));
      }
    }
    return [];
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

  /** A like is a fact in the room's order (`liked` true or false), so a person counts once. */
  @OnTell('like')
  async like(@Payload() like: LikeDto, @ConnectedSocket() socket: SssSocket): Promise<void> {
    this.assertJoined(socket, like.room);
    await this.publisher.publish(`rooms/${like.room}`, 'like', {
      seq: like.seq,
      by: socket.userId,
      liked: like.liked,
    });
  }

  /** "Someone is typing": told to the people in the room (presence), never stored. */
  @OnTell('typing')
  async typing(@Payload() { room }: RoomDto, @ConnectedSocket() socket: SssSocket): Promise<void> {
    this.assertJoined(socket, room);
    const members = await this.publisher.presence(`rooms/${room}`);
    await Promise.all(
      members
        .filter((member) => member.userId !== socket.userId)
        .map((member) => this.publisher.toUser(member.userId, 'typing', { room, name: socket.userId })),
    );
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
