import { Injectable } from '@nestjs/common';
import { createHmac, randomUUID, timingSafeEqual } from 'node:crypto';

/** A visitor's session, as stored in the signed `chat_session` cookie. */
export interface ChatSession {
  sessionId: string;
  name: string;
}

export const SESSION_COOKIE = 'chat_session';

/**
 * Signs and verifies the sample's session cookie. Every instance must share the secret
 * (`SESSION_SECRET`), so that a session made on one is accepted by all: no sticky sessions.
 */
@Injectable()
export class ChatSessionService {
  private readonly secret = process.env.SESSION_SECRET ?? 'sample-secret-change-me';

  create(name: string): { session: ChatSession; cookie: string } {
    const session = { sessionId: randomUUID(), name };
    const payload = Buffer.from(JSON.stringify(session)).toString('base64url');
    return { session, cookie: `${payload}.${this.sign(payload)}` };
  }

  verify(cookie: string | undefined): ChatSession | undefined {
    const [payload, signature] = (cookie ?? '').split('.');
    if (!payload || !signature) return undefined;
    const expected = Buffer.from(this.sign(payload));
    const given = Buffer.from(signature);
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) return undefined;
    try {
      return JSON.parse(Buffer.from(payload, 'base64url').toString()) as ChatSession;
    } catch {
      return undefined;
    }
  }

  private sign(payload: string): string {
    return createHmac('sha256', this.secret).update(payload).digest('base64url');
  }
}

/** Reads one cookie from a Cookie header. */
export function readCookie(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const separator = part.indexOf('=');
    if (separator > 0 && part.slice(0, separator).trim() === name) {
      // A malformed percent-encoding is no session, not a server error.
      try {
        return decodeURIComponent(part.slice(separator + 1).trim());
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}
