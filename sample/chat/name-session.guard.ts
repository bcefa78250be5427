import { Injectable, UnauthorizedException, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { SssExecutionContext } from '../../lib/index.js';
import { ChatSessionService, readCookie, SESSION_COOKIE } from './chat-session.service.js';

/**
 * The sample's session parser, run at every WebSocket upgrade: the signed session cookie set by
 * `POST /api/session` names the visitor. The name is the user id (all tabs and devices of one
 * name are one user); each login is a session of its own. Rooms show the name to who is online.
 */
@Injectable()
export class NameSessionGuard implements CanActivate {
  constructor(private readonly sessions: ChatSessionService) {}

  canActivate(context: ExecutionContext): boolean {
    const handshake = SssExecutionContext.create(context).getHandshake();
    if (!handshake) return false;
    const session = this.sessions.verify(readCookie(handshake.request.headers.cookie, SESSION_COOKIE));
    if (!session) throw new UnauthorizedException('Pick a name first.');
    handshake.userId = session.name;
    handshake.sessionId = session.sessionId;
    handshake.locals.name = session.name;
    // What the other people in a room see of this visitor (presence).
    handshake.presence = { name: session.name };
    return true;
  }
}
