import type { ContextType, ExecutionContext, Type } from '@nestjs/common';
import { SSS_CONTEXT_TYPE } from '../sss.constants.js';

type HttpHost = ReturnType<ExecutionContext['switchToHttp']>;
type RpcHost = ReturnType<ExecutionContext['switchToRpc']>;
type WsHost = ReturnType<ExecutionContext['switchToWs']>;

/**
 * The `ExecutionContext` our filters and session guards receive; args are
 * `[socket, payload, request, pattern]` (at the upgrade: `[request, undefined, request, path]`).
 * Its type is `'sss'`, and `switchToWs()` reads the socket, the payload and the pattern, as in a
 * `@SubscribeMessage` handler.
 */
export class SssExecutionContextHost implements ExecutionContext {
  constructor(
    private readonly args: unknown[],
    private readonly classRef: Type | null = null,
    private readonly handler: Function | null = null,
  ) {}

  getType<TContext extends string = ContextType>(): TContext {
    return SSS_CONTEXT_TYPE as TContext;
  }

  getClass<T = unknown>(): Type<T> {
    return this.classRef as Type<T>;
  }

  getHandler(): Function {
    return this.handler as Function;
  }

  getArgs<T extends unknown[] = unknown[]>(): T {
    return this.args as T;
  }

  getArgByIndex<T = unknown>(index: number): T {
    return this.args[index] as T;
  }

  switchToWs(): WsHost {
    return {
      getClient: <T>() => this.args[0] as T,
      getData: <T>() => this.args[1] as T,
      getPattern: () => this.args[this.args.length - 1] as string,
    };
  }

  switchToHttp(): HttpHost {
    return {
      getRequest: <T>() => this.args[0] as T,
      getResponse: <T>() => this.args[1] as T,
      getNext: <T>() => this.args[2] as T,
    };
  }

  switchToRpc(): RpcHost {
    return {
      getData: <T>() => this.args[0] as T,
      getContext: <T>() => this.args[1] as T,
    };
  }
}
