import { Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { SssExecutionContext } from '../../lib/index.js';

/** The subscription parser: every room is open except `private`, which needs its password. */
@Injectable()
export class RoomPasswordGuard implements CanActivate {
  private readonly privatePassword = process.env.PRIVATE_ROOM_PASSWORD ?? 'letmein';

  canActivate(context: ExecutionContext): boolean {
    const request = SssExecutionContext.create(context).getChannelRequest();
    if (!request) return false;
    if (request.params.room !== 'private') return true;
    return (request.query as { password?: unknown } | undefined)?.password === this.privatePassword;
  }
}
