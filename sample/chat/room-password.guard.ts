import { Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { SssError, SssExecutionContext } from '../../lib/index.js';

/** The code the page branches on to ask for the private room's password again. */
export const WRONG_PASSWORD = 'WRONG_PASSWORD';

/** The subscription parser: every room is open except `private`, which needs its password. */
@Injectable()
export class RoomPasswordGuard implements CanActivate {
  private readonly privatePassword = process.env.PRIVATE_ROOM_PASSWORD ?? 'letmein';

  canActivate(context: ExecutionContext): boolean {
    const request = SssExecutionContext.create(context).getChannelRequest();
    if (!request) return false;
    if (request.params.room !== 'private') return true;
    const password = (request.query as { password?: unknown } | undefined)?.password;
    if (password === this.privatePassword) return true;
    // A clear answer the page can show next to the password field, not Nest's "Forbidden resource".
    throw new SssError(
      WRONG_PASSWORD,
      password ? 'That is not the password of the private room.' : 'The private room needs its password.',
    );
  }
}
