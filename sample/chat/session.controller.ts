import { Body, Controller, HttpCode, Post, Res } from '@nestjs/common';
import { IsString, Matches } from 'class-validator';
import type { Response } from 'express';
import { ChatSessionService, SESSION_COOKIE } from './chat-session.service.js';

export class LoginDto {
  @IsString()
  @Matches(/^[\w .-]{1,40}$/, { message: 'A name has 1 to 40 letters, digits, spaces, dots or dashes.' })
  name!: string;
}

/** Starts a session: the cookie it sets is what the session guard checks at the upgrade. */
@Controller('api/session')
export class SessionController {
  constructor(private readonly sessions: ChatSessionService) {}

  @Post()
  @HttpCode(201)
  login(@Body() login: LoginDto, @Res({ passthrough: true }) response: Response): { name: string; sessionId: string } {
    const { session, cookie } = this.sessions.create(login.name.trim());
    response.cookie(SESSION_COOKIE, cookie, { httpOnly: true, sameSite: 'lax', path: '/' });
    return session;
  }
}
