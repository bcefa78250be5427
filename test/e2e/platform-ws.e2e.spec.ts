import { Module, type INestApplication } from '@nestjs/common';
import { WsAdapter } from '@nestjs/platform-ws';
import { Test } from '@nestjs/testing';
import { MessageBody, SubscribeMessage, WebSocketGateway } from '@nestjs/websockets';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { OnAsk, Payload, SssGateway, SssModule } from '../../lib/index.js';
import { SssWsAdapter } from '../../lib/platform-ws.js';
import { RawSocket } from './support/raw-socket.js';

@WebSocketGateway({ path: '/legacy' })
class LegacyGateway {
  @SubscribeMessage('double')
  double(@MessageBody() value: number) {
    return { event: 'doubled', data: value * 2 };
  }
}

@SssGateway()
class ModernGateway {
  @OnAsk('triple')
  triple(@Payload() value: number) {
    return value * 3;
  }
}

@Module({ imports: [SssModule.forRoot({})], providers: [LegacyGateway, ModernGateway] })
class MixedModule {}

async function startMixed(
  adapter: (app: INestApplication) => WsAdapter,
): Promise<{ app: INestApplication; port: number }> {
  const moduleRef = await Test.createTestingModule({ imports: [MixedModule] }).compile();
  const app = moduleRef.createNestApplication({ logger: false });
  app.useWebSocketAdapter(adapter(app));
  await app.listen(0, '127.0.0.1');
  return { app, port: (app.getHttpServer().address() as { port: number }).port };
}

function legacyDouble(port: number, value: number): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/legacy`);
    ws.on('open', () => ws.send(JSON.stringify({ event: 'double', data: value })));
    ws.on('message', (data) => {
      resolve(JSON.parse(data.toString()));
      ws.close();
    });
    ws.on('error', reject);
  });
}

describe('beside @nestjs/platform-ws gateways', () => {
  let app: INestApplication | undefined;

  afterEach(async () => {
    await app?.close();
    app = undefined;
  });

  it('serves both with SssWsAdapter', async () => {
    const started = await startMixed((nest) => new SssWsAdapter(nest));
    app = started.app;
    expect(await legacyDouble(started.port, 21)).toEqual({ event: 'doubled', data: 42 });
    const raw = await RawSocket.open(`ws://127.0.0.1:${started.port}/sss`);
    try {
      expect(await raw.request({ t: 'ask', id: 1, topic: 'triple', data: 5 })).toMatchObject({ t: 'res', data: 15 });
    } finally {
      raw.close();
    }
  });

  it('needs the shim: the plain WsAdapter destroys our upgrades', async () => {
    const started = await startMixed((nest) => new WsAdapter(nest));
    app = started.app;
    expect(await legacyDouble(started.port, 1)).toEqual({ event: 'doubled', data: 2 });
    await expect(RawSocket.open(`ws://127.0.0.1:${started.port}/sss`)).rejects.toThrow();
  });
});
