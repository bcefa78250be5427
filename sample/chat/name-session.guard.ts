import { Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { SssExecutionContext } from '../../lib/index.js';

/**
 * The sample's session parser: the page stores the visitor's name in a cookie; the name is the
 * user id (every tab of one name is one user) and each browser gets its own session id cookie.
 * A real app would verify a signed session here.
 */
@Injectable()
export class NameSessionGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    const handshake = SssExecutionContext.create(context).getHandshake();
    if (!handshake) return false;
    const cookies = parseCookies(handshake.request.headers.cookie ?? '');
    const name = cookies.get('chat_name');
    if (!name || !/^[\w .-]{1,40}$/.test(name)) return false;
    handshake.userId = name;
    handshake.sessionId = cookies.get('chat_session');
    handshake.locals.name = name;
    return true;
  }
}

function parseCookies(header: string): Map<string, string> {
  const cookies = new Map<string, string>();
  for (const part of header.split(';')) {
    const separator = part.indexOf('=');
    if (separator > 0)
      cookies.set(part.slice(0, separator).trim(), decodeURIComponent(part.slice(separator + 1).trim()));
  }
  return cookies;
}
