import { Injectable, Logger } from '@nestjs/common';
import { ChannelHub } from '../channels/channel.hub.js';
import type { ScalerSignal } from '../scaler/scaler.interface.js';
import { SocketRegistry } from '../server/socket.registry.js';
import { SharedFrame } from '../server/frame.encoder.js';
import { SssMessages } from '../sss.messages.js';

/**
 * Where an unsequenced signal from the scaler reaches this instance's sockets: tells to a socket,
 * a user, a session or everyone, and boots of sockets, users, sessions or whole channels.
 */
@Injectable()
export class SignalRouter {
  private readonly logger = new Logger('SssSignalRouter');

  constructor(
    private readonly sockets: SocketRegistry,
    private readonly hub: ChannelHub,
  ) {}

  route(signal: ScalerSignal): void {
    if (signal.target.type === 'channel') {
      if (signal.kind === 'boot') this.hub.bootChannel(signal.target.id, signal.reason || SssMessages.channelBooted);
      return;
    }
    const sockets = this.sockets.find(signal.target);
    if (signal.kind === 'boot') {
      for (const socket of [...sockets]) socket.boot(signal.reason || SssMessages.booted);
      return;
    }
    let frame: SharedFrame;
    try {
      frame = new SharedFrame(JSON.stringify({ t: 'tell', topic: signal.topic, data: signal.data }));
    } catch (error) {
      this.logger.error(`A tell on "${signal.topic}" cannot be encoded as JSON and was dropped.`, error);
      return;
    }
    for (const socket of sockets) socket.sendShared(frame);
  }
}
