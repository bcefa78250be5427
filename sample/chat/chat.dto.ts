import { ArrayMaxSize, IsArray, IsBoolean, IsIn, IsInt, IsOptional, IsString, Length, Min } from 'class-validator';

export const ROOMS = ['general_chat', 'sport', 'fashion', 'private'] as const;

export class SayDto {
  @IsIn(ROOMS)
  room!: string;

  @IsString()
  @Length(1, 500)
  text!: string;
}

/** Likes or un-likes a message: the room's order makes every page agree on the count. */
export class LikeDto {
  @IsIn(ROOMS)
  room!: string;

  @IsInt()
  @Min(1)
  seq!: number;

  @IsBoolean()
  liked!: boolean;
}

export class RoomDto {
  @IsIn(ROOMS)
  room!: string;
}

export class DirectMessageDto {
  @IsString()
  @Length(1, 40)
  to!: string;

  @IsString()
  @Length(1, 500)
  text!: string;
}

/** The rooms a session had open, kept in the session's shared data so that a reload reopens them. */
export class OpenRoomsDto {
  @IsArray()
  @ArrayMaxSize(ROOMS.length)
  @IsIn(ROOMS, { each: true })
  rooms!: string[];

  @IsOptional()
  @IsIn(ROOMS)
  current?: string;
}
