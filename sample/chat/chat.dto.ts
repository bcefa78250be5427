import { IsIn, IsInt, IsString, Length, Min } from 'class-validator';

export const ROOMS = ['general_chat', 'sport', 'fashion', 'private'] as const;

export class SayDto {
  @IsIn(ROOMS)
  room!: string;

  @IsString()
  @Length(1, 500)
  text!: string;
}

export class LikeDto {
  @IsIn(ROOMS)
  room!: string;

  @IsInt()
  @Min(1)
  seq!: number;
}

export class DirectMessageDto {
  @IsString()
  @Length(1, 40)
  to!: string;

  @IsString()
  @Length(1, 500)
  text!: string;
}
