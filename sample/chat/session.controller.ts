import { Body, Controller, Delete, Get, HttpCode, Post, Req, Res, UnauthorizedException } from '@nestjs/common';
import { IsString, Matches } from 'class-validator';
import type { Request, Response } from 'express';
import { ChatSessionService, readCookie, SESSION_COOKIE, type ChatSession } from './chat-session.service.js';

export class LoginDto {
  @IsString()
  @Matches(/^[\w .-]{1,40}$/, { message: 'A name has 1 to 40 letters, digits, spaces, dots or dashes.' })
  name!: string;
}

/**
 * Starts, reads and ends a session: the cookie `POST` sets is what the session guard checks at the
 * upgrade. The cookie is `httpOnly`, so a reloaded page asks `GET` who it is.
 */
@Controller('api/session')
export class SessionController {
  constructor(private readonly sessions: ChatSessionService) {}

  @Post()
  @HttpCode(201)
  login(@Body() login: LoginDto, @Res({ passthrough: true }) response: Response): ChatSession {
    const { session, cookie } = this.sessions.create(login.name.trim());
    response.cookie(SESSION_COOKIE, cookie, { httpOnly: true, sameSite: 'lax', path: '/' });
    return session;
  }

  /** The session of the cookie, or 401 when there is none (or it is not ours). */
  @Get()
  current(@Req() request: Request): ChatSession {
    const session = this.sessions.verify(readCookie(request.headers.cookie, SESSION_COOKIE));
    if (!session) throw new UnauthorizedException('Not signed in.');
    return session;
  }

  @Delete()
  @HttpCode(204)
  logout(@Res({ passthrough: true }) response: Response): void {
    response.clearCookie(SESSION_COOKIE, { httpOnly: true, sameSite: 'lax', path: '/' });
  }
}
