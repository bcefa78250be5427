import { Injectable, type Type } from '@nestjs/common';
import {
  CUSTOM_ROUTE_ARGS_METADATA,
  GUARDS_METADATA,
  INTERCEPTORS_METADATA,
  PIPES_METADATA,
  ROUTE_ARGS_METADATA,
} from '@nestjs/common/constants.js';
import { ApplicationConfig, ExternalContextCreator } from '@nestjs/core';
import type { SssGuardCheck, SssHandler } from '../router/handler.registry.js';
import { SSS_CONTEXT_TYPE } from '../sss.constants.js';
import { SssExceptionFiltersContext, type FilterInstances } from './sss-exception-filters.context.js';
import { SssParamsFactory } from './sss-params.factory.js';

type Method = (...args: unknown[]) => unknown;

/** A metadata key nothing is stored under: the guard check reads no parameters (so runs no pipes). */
const GUARD_CHECK_METADATA = 'sss:guard-check';

/**
 * Wraps a gateway method in Nest's enhancer pipeline, the way `@nestjs/websockets`' context creator
 * wraps a `@SubscribeMessage` handler: guards, interceptors, pipes and param decorators come from
 * Nest's public `ExternalContextCreator` (as for GraphQL resolvers), exception filters from
 * `SssExceptionFiltersContext`, which keeps a failure a failure whatever a filter returns.
 *
 * Args of the handler it returns are `[socket, payload, request, pattern]`; the handler returns the
 * method's result, or a Promise or an Observable of it (its last value counts), and throws or
 * rejects with what the client is told.
 */
@Injectable()
export class SssContextCreator {
  private readonly paramsFactory = new SssParamsFactory();
  private readonly filtersContext: SssExceptionFiltersContext;

  constructor(
    private readonly externalContextCreator: ExternalContextCreator,
    private readonly config: ApplicationConfig,
  ) {
    this.filtersContext = new SssExceptionFiltersContext(config);
  }

  create(instance: object, method: Method, methodName: string, injectables?: FilterInstances): SssHandler {
    const exceptions = this.filtersContext.create(instance, method, injectables);
    const direct = exceptions.isEmpty ? this.createDirect(instance, method, methodName) : undefined;
    if (direct) return direct;
    // NOTE: filters are left out here: Nest's external error proxy turns a value a filter returns
    // into a result, which would let a filter grant what a guard refused.
    const pipeline = this.externalContextCreator.create(
      instance as Record<string, unknown>,
      method,
      methodName,
      ROUTE_ARGS_METADATA,
      this.paramsFactory,
      undefined,
      undefined,
      { guards: true, interceptors: true, filters: false },
      SSS_CONTEXT_TYPE,
    ) as SssHandler;
    if (exceptions.isEmpty) return pipeline;
    return (...args: unknown[]) =>
      (pipeline(...args) as Promise<unknown>).catch((error: unknown) => exceptions.handle(error, args));
  }

  /**
   * The guards of a `@Channel` method alone (global, class and method guards), for re-checking a
   * live subscription after a credential refresh: resolves when they allow, rejects with what they
   * threw (`ForbiddenException` for a `false`). The method, its pipes and interceptors do not run.
   * `undefined` when no guard applies. Args are `[socket, query, request, pattern]`.
   */
  createGuardCheck(instance: object, method: Method, methodName: string): SssGuardCheck | undefined {
    if (!this.applies('guards', instance.constructor as Type, method)) return undefined;
    // NOTE: the pipeline is built around a stand-in that carries the method's metadata (guards, and
    // whatever `Reflector` reads from `context.getHandler()`), so that the guards decide exactly as
    // they do at subscribe time while the method itself never runs again.
    const allowed: Method = () => true;
    for (const key of Reflect.getMetadataKeys(method) as unknown[]) {
      Reflect.defineMetadata(key, Reflect.getMetadata(key, method), allowed);
    }
    return this.externalContextCreator.create(
      instance as Record<string, unknown>,
      allowed,
      methodName,
      GUARD_CHECK_METADATA,
      undefined,
      undefined,
      undefined,
      { guards: true, interceptors: false, filters: false },
      SSS_CONTEXT_TYPE,
    ) as SssGuardCheck;
  }

  /** Whether enhancers of a kind apply to a method: global ones (app or request scoped) or declared. */
  private applies(kind: keyof typeof ENHANCER_METADATA, classRef: Type, method: Method): boolean {
    const { config } = this;
    const globals =
      kind === 'guards'
        ? [config.getGlobalGuards(), config.getGlobalRequestGuards()]
        : kind === 'interceptors'
          ? [config.getGlobalInterceptors(), config.getGlobalRequestInterceptors()]
          : [config.getGlobalPipes(), config.getGlobalRequestPipes()];
    const key = ENHANCER_METADATA[kind];
    return (
      globals.some(hasEntries) ||
      hasEntries(Reflect.getMetadata(key, classRef)) ||
      hasEntries(Reflect.getMetadata(key, method))
    );
  }

  /**
   * A method with no guard, interceptor, pipe or filter anywhere (global ones included) and no
   * custom param decorator is called directly with its params: what the pipeline would do, without
   * its promises and contexts (a plain result stays plain; the router settles Promises and
   * Observables as the pipeline would). `undefined` when something applies.
   */
  private createDirect(instance: object, method: Method, methodName: string): SssHandler | undefined {
    const classRef = instance.constructor as Type;
    const enhanced = (['guards', 'interceptors', 'pipes'] as const).some((kind) =>
      this.applies(kind, classRef, method),
    );
    const paramDecorators = (Reflect.getMetadata(ROUTE_ARGS_METADATA, classRef, methodName) ?? {}) as Record<
      string,
      { pipes?: unknown[] }
    >;
    const paramPipes = Object.values(paramDecorators).some((param) => hasEntries(param.pipes));
    const customParams = Object.keys(paramDecorators).some((key) => key.includes(CUSTOM_ROUTE_ARGS_METADATA));
    if (enhanced || paramPipes || customParams) return undefined;
    const { argsLength, getParamsMetadata } = this.externalContextCreator.getMetadata(
      instance as Record<string, unknown>,
      methodName,
      ROUTE_ARGS_METADATA,
      this.paramsFactory,
      SSS_CONTEXT_TYPE,
    );
    const params = getParamsMetadata(this.externalContextCreator.getContextModuleKey(classRef)) ?? [];
    if (argsLength === 0) return (...args: unknown[]): unknown => method.apply(instance, args);
    return (...args: unknown[]): unknown => {
      const callArgs = new Array<unknown>(argsLength).fill(undefined);
      let deferred = false;
      for (const param of params) {
        const value = (param.extractValue as Method)(...args);
        callArgs[param.index] = value;
        deferred ||= isThenable(value);
      }
      // The pipeline awaits every param (e.g. a Promise a session guard left in `locals`).
      if (deferred) return Promise.all(callArgs).then((values) => method.apply(instance, values));
      return method.apply(instance, callArgs);
    };
  }
}

const ENHANCER_METADATA = { guards: GUARDS_METADATA, interceptors: INTERCEPTORS_METADATA, pipes: PIPES_METADATA };

function isThenable(value: unknown): boolean {
  return typeof (value as { then?: unknown } | null | undefined)?.then === 'function';
}

function hasEntries(entries: unknown): boolean {
  return Array.isArray(entries) && entries.length > 0;
}
