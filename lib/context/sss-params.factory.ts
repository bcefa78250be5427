import type { ParamData } from '@nestjs/common';
import type { ParamsFactory } from '@nestjs/core';
import { SssParamtype } from '../enums/sss-paramtype.enum.js';
import type { SssRequest } from '../interfaces/sss-request.interface.js';
import type { SssSocket } from '../server/sss-socket.js';

/** Turns our param decorators into values; args are `[socket, payload, request, pattern]`. */
export class SssParamsFactory implements ParamsFactory {
  exchangeKeyForValue(type: number, data: ParamData, args: unknown[]): unknown {
    const socket = args[0] as SssSocket;
    const payload = args[1];
    const request = args[2] as SssRequest;
    const pick = (value: unknown) =>
      typeof data === 'string' && value !== null && typeof value === 'object'
        ? (value as Record<string, unknown>)[data]
        : data === undefined
          ? value
          : undefined;
    switch (type as SssParamtype) {
      case SssParamtype.SOCKET:
        return socket;
      case SssParamtype.PAYLOAD:
        return pick(payload);
      case SssParamtype.CHANNEL_PARAMS:
        return request.kind === 'channel' ? pick(request.params) : undefined;
      case SssParamtype.CHANNEL_NAME:
        return request.kind === 'channel' ? request.channel : undefined;
      case SssParamtype.CHANNEL_QUERY:
        return request.kind === 'channel' ? pick(request.query) : undefined;
      case SssParamtype.USER_ID:
        return socket.userId;
      case SssParamtype.SESSION_ID:
        return socket.sessionId;
      case SssParamtype.LOCALS:
        return pick(socket.locals);
      default:
        return undefined;
    }
  }
}
