import { IsString, Length } from 'class-validator';

export class StreamQueryDto {
  @IsString()
  @Length(20, 100)
  token!: string;
}
