import type { ExceptionFilter, Type } from '@nestjs/common';
import { EXCEPTION_FILTERS_METADATA, FILTER_CATCH_EXCEPTIONS } from '@nestjs/common/constants.js';
import type { ApplicationConfig } from '@nestjs/core';
import { SssExceptionsHandler, type SelectableFilter } from './sss-exceptions.handler.js';

/** Where a gateway's `@UseFilters()` classes were instantiated: the injectables of its module. */
export interface FilterInstances {
  get(type: Type): { instance: unknown } | undefined;
}

/**
 * Collects the exception filters that apply to a handler (global, then the gateway's, then the
 * method's), as Nest does for controllers, and builds its `SssExceptionsHandler`. Filters given as
 * classes are the instances Nest created for the gateway's module, with their dependencies.
 */
export class SssExceptionFiltersContext {
  constructor(private readonly config: ApplicationConfig) {}

  create(instance: object, callback: Function, injectables: FilterInstances | undefined): SssExceptionsHandler {
    const classRef = instance.constructor as Type;
    const declared = [...this.config.getGlobalFilters(), ...readFilters(classRef), ...readFilters(callback)];
    const filters = declared
      .map((filter) => resolveFilter(filter, injectables))
      .filter((filter): filter is ExceptionFilter => filter !== undefined)
      .map((filter): SelectableFilter => ({ filter, catches: readCatches(filter) }))
      // The most specific filter is tried first.
      .reverse();
    return new SssExceptionsHandler(filters, classRef, callback);
  }
}

function readFilters(target: Function): (ExceptionFilter | Type<ExceptionFilter>)[] {
  return (Reflect.getMetadata(EXCEPTION_FILTERS_METADATA, target) as (ExceptionFilter | Type<ExceptionFilter>)[]) ?? [];
}

function resolveFilter(
  filter: ExceptionFilter | Type<ExceptionFilter> | undefined,
  injectables: FilterInstances | undefined,
): ExceptionFilter | undefined {
  if (!filter) return undefined;
  if (typeof filter !== 'function') return typeof filter.catch === 'function' ? filter : undefined;
  const instance = injectables?.get(filter)?.instance as ExceptionFilter | undefined;
  return instance && typeof instance.catch === 'function' ? instance : undefined;
}

function readCatches(filter: ExceptionFilter): Type[] {
  // `@Catch()` writes the types on the class and on its prototype.
  return (
    (Reflect.getMetadata(FILTER_CATCH_EXCEPTIONS, Object.getPrototypeOf(filter) as object) as Type[] | undefined) ??
    (Reflect.getMetadata(FILTER_CATCH_EXCEPTIONS, filter.constructor) as Type[] | undefined) ??
    []
  );
}
