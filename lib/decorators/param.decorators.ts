import { assignMetadata, type PipeTransform, type Type } from '@nestjs/common';
import { ROUTE_ARGS_METADATA } from '@nestjs/common/constants.js';
import { SssParamtype } from '../enums/sss-paramtype.enum.js';

/** A pipe given to a param decorator, as a class or an instance. */
export type ParamPipe = Type<PipeTransform> | PipeTransform;

// NOTE: the key is Nest's own, so that `createParamDecorator()` params live beside ours.
function createParamDecorator(paramtype: SssParamtype) {
  return (property?: string | ParamPipe, ...pipes: ParamPipe[]): ParameterDecorator =>
    (target, key, index) => {
      const data = typeof property === 'string' ? property : undefined;
      const allPipes = typeof property === 'string' || property === undefined ? pipes : [property, ...pipes];
      const owner = target.constructor;
      const args = Reflect.getMetadata(ROUTE_ARGS_METADATA, owner, key as string) ?? {};
      Reflect.defineMetadata(
        ROUTE_ARGS_METADATA,
        assignMetadata(args, paramtype, index, data, ...allPipes),
        owner,
        key as string,
      );
    };
}

/**
 * The frame's payload: `data` of an ask or tell, the query of a subscription. Takes an optional
 * property name and pipes, like `@Body()`.
 */
export const Payload = createParamDecorator(SssParamtype.PAYLOAD);

/** The `SssSocket` that sent the frame. */
export const ConnectedSocket = createParamDecorator(SssParamtype.SOCKET) as () => ParameterDecorator;

/** The parameters of a `@Channel` pattern (`'room/:id'` → `{ id }`), or one of them by name. */
export const ChannelParams = createParamDecorator(SssParamtype.CHANNEL_PARAMS);

/** The full name of the channel being subscribed to (`'room/42'`). */
export const ChannelName = createParamDecorator(SssParamtype.CHANNEL_NAME) as () => ParameterDecorator;

/** The query the client passed to `subscribe(channel, query)`, or one of its properties. */
export const ChannelQuery = createParamDecorator(SssParamtype.CHANNEL_QUERY);

/** The user id the session guard set, or `undefined`. */
export const UserId = createParamDecorator(SssParamtype.USER_ID) as () => ParameterDecorator;

/** The session id the session guard set, or `undefined`. */
export const SessionId = createParamDecorator(SssParamtype.SESSION_ID) as () => ParameterDecorator;

/** The socket's `locals` set by the session guard, or one of them by name. */
export const Locals = createParamDecorator(SssParamtype.LOCALS);
