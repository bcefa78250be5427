import { Injectable, type Type } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { SssChannelOptions } from './interfaces/sss-channel-options.interface.js';
import {
  SSS_ASK_METADATA,
  SSS_CHANNEL_METADATA,
  SSS_CHANNEL_OPTIONS_METADATA,
  SSS_GATEWAY_METADATA,
  SSS_TELL_METADATA,
} from './sss.constants.js';

/** Reads what our decorators wrote. */
@Injectable()
export class SssMetadataAccessor {
  constructor(private readonly reflector: Reflector) {}

  isGateway(target: Type | Function): boolean {
    return this.reflector.get<boolean>(SSS_GATEWAY_METADATA, target) === true;
  }

  getAskTopic(method: Function): string | undefined {
    return this.reflector.get<string>(SSS_ASK_METADATA, method);
  }

  getTellTopic(method: Function): string | undefined {
    return this.reflector.get<string>(SSS_TELL_METADATA, method);
  }

  getChannelPattern(method: Function): string | undefined {
    return this.reflector.get<string>(SSS_CHANNEL_METADATA, method);
  }

  getChannelOptions(method: Function): SssChannelOptions {
    return this.reflector.get<SssChannelOptions>(SSS_CHANNEL_OPTIONS_METADATA, method) ?? {};
  }
}
