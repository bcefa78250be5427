import {
  Catch,
  createParamDecorator,
  ForbiddenException,
  Injectable,
  Scope,
  UseFilters,
  UseGuards,
  type ArgumentsHost,
  type CanActivate,
  type ExceptionFilter,
  type ExecutionContext,
} from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { Test, type TestingModule } from '@nestjs/testing';
import { of } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import {
  BaseSssExceptionFilter,
  ConnectedSocket,
  ErrorCode,
  OnAsk,
  Payload,
  SssConfigurationError,
  SssError,
  SssGateway,
  SssModule,
  type SssMessageRequest,
} from '../../lib/index.js';
import { HandlerRegistry, settleResult, type SssHandler } from '../../lib/router/handler.registry.js';

/** The socket a handler receives; these handlers only read its id. */
const socket = { id: 'socket-1' };

const ContextType = createParamDecorator((_data: unknown, context: ExecutionContext) => context.getType());

class RoomFullError extends Error {}

/** Tries to turn every failure into a success. */
@Catch()
class GrantingFilter implements ExceptionFilter {
  catch(): unknown {
    return { granted: true };
  }
}

/** Maps a domain error to a code, and everything else to the default answer. */
@Catch()
class MappingFilter extends BaseSssExceptionFilter {
  override catch(exception: unknown, host: ArgumentsHost): never {
    if (exception instanceof RoomFullError) throw new SssError('ROOM_FULL', 'This room is full.');
    return super.catch(exception, host);
  }
}

/** Catches only RoomFullError, by rethrowing another error. */
@Catch(RoomFullError)
class RoomFullOnlyFilter implements ExceptionFilter {
  catch(): never {
    throw new SssError('ONLY_ROOM_FULL', 'Caught by type.');
  }
}

@Injectable()
class DenyGuard implements CanActivate {
  canActivate(): boolean {
    return false;
  }
}

@SssGateway()
class PlainGateway {
  calls = 0;

  @OnAsk('value')
  value(@Payload() data: number): number {
    this.calls += 1;
    return data * 2;
  }

  @OnAsk('property')
  property(@Payload('text') text: string, @ConnectedSocket() client: { id: string }, @ContextType() type: string) {
    return { text, socketId: client.id, type };
  }

  @OnAsk('raw')
  raw(...args: unknown[]): unknown[] {
    return args;
  }

  @OnAsk('promise')
  async promise(): Promise<string> {
    await Promise.resolve();
    return 'later';
  }

  @OnAsk('observable')
  observable() {
    return of(1, 2, 3);
  }

  @OnAsk('throws')
  throws(): never {
    this.calls += 1;
    throw new RoomFullError('full');
  }

  @OnAsk('guarded')
  @UseGuards(DenyGuard)
  guarded(): string {
    this.calls += 1;
    return 'ran';
  }

  @OnAsk('granting')
  @UseGuards(DenyGuard)
  @UseFilters(GrantingFilter)
  granting(): string {
    return 'ran';
  }

  @OnAsk('grantingAfterCrash')
  @UseFilters(GrantingFilter)
  grantingAfterCrash(): never {
    throw new Error('database password is hunter2');
  }

  @OnAsk('mapped')
  @UseFilters(MappingFilter)
  mapped(@Payload() kind: string): never {
    if (kind === 'room') throw new RoomFullError('full');
    if (kind === 'http') throw new ForbiddenException('No entry');
    throw new Error('database password is hunter2');
  }

  @OnAsk('byType')
  @UseFilters(RoomFullOnlyFilter)
  byType(@Payload() kind: string): never {
    if (kind === 'room') throw new RoomFullError('full');
    throw new SssError('OTHER', 'Not caught by the filter.');
  }
}

async function start(providers: unknown[] = []): Promise<TestingModule> {
  const moduleRef = await Test.createTestingModule({
    imports: [SssModule.forRoot({})],
    providers: [PlainGateway, ...(providers as [])],
  }).compile();
  moduleRef.useLogger(false);
  await moduleRef.init();
  return moduleRef;
}

function handlerOf(moduleRef: TestingModule, topic: string): SssHandler {
  const source = moduleRef.get(HandlerRegistry, { strict: false }).findAsk(topic);
  if (!source) throw new Error(`no handler for ${topic}`);
  return source.handler;
}

function call(moduleRef: TestingModule, topic: string, payload?: unknown): Promise<unknown> {
  const request: SssMessageRequest = { kind: 'ask', topic };
  // As the router does: what the handler throws or returns, settled.
  try {
    return settleResult(handlerOf(moduleRef, topic)(socket, payload, request, topic));
  } catch (error) {
    return Promise.reject(error);
  }
}

async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (error: unknown) => error,
  );
}

describe('SssContextCreator', () => {
  let moduleRef: TestingModule | undefined;

  afterEach(async () => {
    await moduleRef?.close();
    moduleRef = undefined;
  });

  describe('a handler with no enhancer anywhere', () => {
    it('is called directly, in the same tick, with its params', async () => {
      moduleRef = await start();
      const gateway = moduleRef.get(PlainGateway);
      const pending = call(moduleRef, 'value', 21);
      // Nothing awaited yet: only a direct call has run the method by now.
      expect(gateway.calls).toBe(1);
      expect(await pending).toBe(42);
      // A plain result stays plain: the router answers it with no Promise and no clock.
      const request: SssMessageRequest = { kind: 'ask', topic: 'value' };
      expect(handlerOf(moduleRef, 'value')(socket, 21, request, 'value')).toBe(42);
    });

    it('resolves params, custom decorators and results as the pipeline does', async () => {
      moduleRef = await start();
      expect(await call(moduleRef, 'property', { text: 'picked' })).toEqual({
        text: 'picked',
        socketId: 'socket-1',
        type: 'sss',
      });
      const request: SssMessageRequest = { kind: 'ask', topic: 'raw' };
      expect(await handlerOf(moduleRef, 'raw')(socket, 'data', request, 'raw')).toEqual([
        socket,
        'data',
        request,
        'raw',
      ]);
      expect(await call(moduleRef, 'promise')).toBe('later');
      expect(await call(moduleRef, 'observable')).toBe(3);
    });

    it('awaits a param that is a promise before the call, as the pipeline does', async () => {
      moduleRef = await start();
      expect(await call(moduleRef, 'value', Promise.resolve(5))).toBe(10);
    });

    it('turns a synchronous throw into a rejection with the same error', async () => {
      moduleRef = await start();
      const error = await rejectionOf(call(moduleRef, 'throws'));
      expect(error).toBeInstanceOf(RoomFullError);
    });
  });

  it('runs the whole pipeline when a global guard applies', async () => {
    moduleRef = await start([{ provide: APP_GUARD, useClass: DenyGuard }]);
    const gateway = moduleRef.get(PlainGateway);
    const pending = call(moduleRef, 'value', 21);
    expect(gateway.calls).toBe(0);
    expect(await rejectionOf(pending)).toBeInstanceOf(ForbiddenException);
    expect(gateway.calls).toBe(0);
  });

  it('runs method guards before the method', async () => {
    moduleRef = await start();
    expect(await rejectionOf(call(moduleRef, 'guarded'))).toBeInstanceOf(ForbiddenException);
    expect(moduleRef.get(PlainGateway).calls).toBe(0);
  });

  describe('exception filters', () => {
    it('cannot turn a refusal into a success by returning a value', async () => {
      moduleRef = await start();
      expect(await rejectionOf(call(moduleRef, 'granting'))).toBeInstanceOf(ForbiddenException);
      const crash = await rejectionOf(call(moduleRef, 'grantingAfterCrash'));
      expect((crash as Error).message).toBe('database password is hunter2');
    });

    it('replace the error with what they throw', async () => {
      moduleRef = await start();
      expect(await rejectionOf(call(moduleRef, 'mapped', 'room'))).toMatchObject({
        code: 'ROOM_FULL',
        message: 'This room is full.',
      });
      expect(await rejectionOf(call(moduleRef, 'byType', 'room'))).toMatchObject({ code: 'ONLY_ROOM_FULL' });
      expect(await rejectionOf(call(moduleRef, 'byType', 'other'))).toMatchObject({ code: 'OTHER' });
    });

    it('BaseSssExceptionFilter answers with the error frame the router would send, hiding internals', async () => {
      moduleRef = await start();
      const forbidden = await rejectionOf(call(moduleRef, 'mapped', 'http'));
      expect(forbidden).toBeInstanceOf(SssError);
      expect(forbidden).toMatchObject({ code: ErrorCode.Forbidden, message: 'No entry' });
      const internal = await rejectionOf(call(moduleRef, 'mapped', 'crash'));
      expect(internal).toBeInstanceOf(SssError);
      expect(internal).toMatchObject({ code: ErrorCode.Internal, message: 'Internal server error' });
      expect(JSON.stringify(internal)).not.toContain('hunter2');
    });

    it('global ones too: a catch-all filter returning a value leaves a guard refusal a refusal', async () => {
      const grantingGlobally = await Test.createTestingModule({
        imports: [SssModule.forRoot({})],
        providers: [PlainGateway],
      }).compile();
      moduleRef = grantingGlobally;
      const app = grantingGlobally.createNestApplication({ logger: false });
      app.useGlobalFilters(new GrantingFilter());
      await app.init();
      expect(await rejectionOf(call(grantingGlobally, 'guarded'))).toBeInstanceOf(ForbiddenException);
      await app.close();
    });
  });

  describe('request-scoped gateways', () => {
    @Injectable({ scope: Scope.REQUEST })
    class PerRequestService {}

    @SssGateway()
    class PerRequestGateway {
      constructor(readonly service: PerRequestService) {}

      @OnAsk('perRequest')
      answer(): string {
        return 'never served';
      }
    }

    it('are refused at startup with an error naming the class', async () => {
      const refused = await Test.createTestingModule({
        imports: [SssModule.forRoot({})],
        providers: [PerRequestGateway, PerRequestService],
      }).compile();
      refused.useLogger(false);
      const error = await rejectionOf(refused.init());
      expect(error).toBeInstanceOf(SssConfigurationError);
      expect((error as Error).message).toContain('PerRequestGateway is a request-scoped @SssGateway');
      await refused.close();
    });
  });
});
