import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import type { SssModuleOptions } from '../../../lib/index.js';
import { FixtureAppModule } from '../fixtures/app.module.js';

export interface StartedApp {
  app: INestApplication;
  /** `ws://127.0.0.1:PORT/sss` */
  url: string;
  port: number;
}

/** Starts the fixture app on a free port (or on `port`, to restart an instance where it was). */
export async function startFixtureApp(options: SssModuleOptions & { port?: number } = {}): Promise<StartedApp> {
  const { port = 0, ...sssOptions } = options;
  const moduleRef = await Test.createTestingModule({ imports: [FixtureAppModule.register(sssOptions)] }).compile();
  const app = moduleRef.createNestApplication({ logger: ['error', 'warn'] });
  await app.listen(port, '127.0.0.1');
  const address = app.getHttpServer().address() as { port: number };
  return { app, port: address.port, url: `ws://127.0.0.1:${address.port}${sssOptions.path ?? '/sss'}` };
}
