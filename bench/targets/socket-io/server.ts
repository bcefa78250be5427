/**
 * Socket.IO 4.8 as its documentation suggests: acknowledgements for request/response (what the
 * client's `emitWithAck` waits for), rooms for channels, and `@socket.io/redis-adapter` across
 * instances. WebSocket transport only (no long-polling upgrade), no compression.
 */
import { createServer } from 'node:http';
import { createAdapter } from '@socket.io/redis-adapter';
import { Redis } from 'ioredis';
import { Server } from 'socket.io';
import { announceReady, serveControl } from '../../support/control.js';

const redisUrl = process.env.REDIS_URL;

const httpServer = createServer();
const io = new Server(httpServer, {
  serveClient: false,
  transports: ['websocket'],
  perMessageDeflate: false,
  maxHttpBufferSize: 65_536,
});

if (redisUrl) {
  const publisher = new Redis(redisUrl);
  io.adapter(createAdapter(publisher, publisher.duplicate()));
}

io.on('connection', (socket) => {
  socket.on('echo', (data: unknown, ack: (data: unknown) => void) => ack(data));
  socket.on('sub', async (channel: string, ack: () => void) => {
    await socket.join(channel);
    ack();
  });
  socket.on('pub', (channel: string, data: unknown, ack: () => void) => {
    io.to(channel).emit('msg', channel, data);
    ack();
  });
});

serveControl();
httpServer.listen(0, '127.0.0.1', () => announceReady((httpServer.address() as { port: number }).port));
