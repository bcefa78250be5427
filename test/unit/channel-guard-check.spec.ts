import {
  ForbiddenException,
  Injectable,
  SetMetadata,
  UseGuards,
  UseInterceptors,
  UsePipes,
  type CallHandler,
  type CanActivate,
  type ExecutionContext,
  type NestInterceptor,
  type PipeTransform,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { Test, type TestingModule } from '@nestjs/testing';
import { afterEach, describe, expect, it } from 'vitest';
import {
  Channel,
  Payload,
  SssExecutionContext,
  SssGateway,
  SssModule,
  type SssChannelRequest,
} from '../../lib/index.js';
import { HandlerRegistry } from '../../lib/router/handler.registry.js';

const socket = { id: 'socket-1', locals: {} };
const seen: Array<{ role: unknown; type: string; recheck: boolean; query: unknown }> = [];
const sideEffects: string[] = [];

/** Allows the query 'ok'; records what it saw, including metadata read from the handler. */
@Injectable()
class MemberGuard implements CanActivate {
  constructor(private readonly reflector: Reflector) {}

  canActivate(context: ExecutionContext): boolean {
    const request = SssExecutionContext.create(context).getChannelRequest()!;
    seen.push({
      role: this.reflector.get('role', context.getHandler()),
      type: context.getType(),
      recheck: request.recheck === true,
      query: request.query,
    });
    if (request.query !== 'ok') throw new ForbiddenException('Not a member');
    return true;
  }
}

class RecordingPipe implements PipeTransform {
  transform(value: unknown): unknown {
    sideEffects.push('pipe');
    return value;
  }
}

class RecordingInterceptor implements NestInterceptor {
  intercept(_context: ExecutionContext, next: CallHandler) {
    sideEffects.push('interceptor');
    return next.handle();
  }
}

@SssGateway()
class RoomsGateway {
  @Channel('room/:id')
  @UseGuards(MemberGuard)
  @SetMetadata('role', 'member')
  @UsePipes(RecordingPipe)
  @UseInterceptors(RecordingInterceptor)
  join(@Payload() query: unknown): void {
    sideEffects.push(`join:${String(query)}`);
  }

  @Channel('lobby')
  lobby(): void {
    sideEffects.push('lobby');
  }
}

function recheckRequest(channel: string, query: unknown): SssChannelRequest {
  return { kind: 'channel', channel, pattern: 'room/:id', params: { id: '1' }, query, recheck: true };
}

describe('the guard check of a @Channel method (re-check after a credential refresh)', () => {
  let moduleRef: TestingModule | undefined;

  afterEach(async () => {
    await moduleRef?.close();
    moduleRef = undefined;
    seen.length = 0;
    sideEffects.length = 0;
  });

  async function registry(): Promise<HandlerRegistry> {
    moduleRef = await Test.createTestingModule({
      imports: [SssModule.forRoot({})],
      providers: [RoomsGateway, MemberGuard],
    }).compile();
    moduleRef.useLogger(false);
    await moduleRef.init();
    return moduleRef.get(HandlerRegistry, { strict: false });
  }

  it('runs the guards alone: not the method, its pipes or its interceptors', async () => {
    const guards = (await registry()).matchChannel('room/1')!.route.guards!;
    await expect(guards(socket, 'ok', recheckRequest('room/1', 'ok'), 'room/:id')).resolves.toBe(true);
    expect(seen).toEqual([{ role: 'member', type: 'sss', recheck: true, query: 'ok' }]);
    expect(sideEffects).toEqual([]);
  });

  it('rejects with what the guard threw', async () => {
    const guards = (await registry()).matchChannel('room/1')!.route.guards!;
    const refusal = guards(socket, 'bad', recheckRequest('room/1', 'bad'), 'room/:id');
    await expect(refusal).rejects.toBeInstanceOf(ForbiddenException);
    await expect(refusal).rejects.toThrow('Not a member');
    expect(sideEffects).toEqual([]);
  });

  it('is absent when no guard applies', async () => {
    expect((await registry()).matchChannel('lobby')!.route.guards).toBeUndefined();
  });
});
