import { BadRequestException, ForbiddenException, HttpException, Logger } from '@nestjs/common';
import { WsException } from '@nestjs/websockets';
import { describe, expect, it, vi } from 'vitest';
import { SssError } from '../../lib/errors/sss.error.js';
import { toErrorFrame } from '../../lib/router/error-frame.mapper.js';

describe('toErrorFrame', () => {
  const logger = new Logger('test');

  it('maps exceptions to stable codes', () => {
    expect(toErrorFrame(1, new SssError('QUOTA', 'Too many', { max: 3 }), logger)).toEqual({
      t: 'err',
      id: 1,
      code: 'QUOTA',
      message: 'Too many',
      details: { max: 3 },
    });
    expect(toErrorFrame(2, new WsException('plain'), logger)).toEqual({
      t: 'err',
      id: 2,
      code: 'WS_ERROR',
      message: 'plain',
    });
    expect(toErrorFrame(3, new ForbiddenException(), logger)).toMatchObject({
      code: 'FORBIDDEN',
      message: 'Forbidden',
    });
    expect(toErrorFrame(4, new BadRequestException(['a is bad', 'b is bad']), logger)).toMatchObject({
      code: 'BAD_REQUEST',
      message: 'a is bad; b is bad',
      details: ['a is bad', 'b is bad'],
    });
    expect(toErrorFrame(5, new HttpException('Teapot', 418), logger)).toMatchObject({
      code: 'HTTP_418',
      message: 'Teapot',
    });
  });

  it('hides and logs unexpected errors', () => {
    const log = vi.spyOn(logger, 'error').mockImplementation(() => undefined);
    expect(toErrorFrame(undefined, new TypeError('secret'), logger)).toEqual({
      t: 'err',
      code: 'INTERNAL_ERROR',
      message: 'Internal server error',
    });
    expect(log).toHaveBeenCalledOnce();
  });
});
