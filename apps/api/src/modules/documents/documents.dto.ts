import { ApiProperty } from '@nestjs/swagger';
import { IsObject } from 'class-validator';
import type { CalibrationEntity, ModelConfigEntity } from '@kvplan/db';
import { NamedDto } from '../../common/named.dto';

export class CreateModelConfigDto extends NamedDto {
  @ApiProperty({
    type: 'object',
    additionalProperties: true,
    description:
      "A Hugging Face config.json, as the model's repository has it; the keys kvplan reads are kept. Deployments name it by id (modelConfigId).",
  })
  @IsObject()
  config!: Record<string, unknown>;
}

export class CreateCalibrationDto extends NamedDto {
  @ApiProperty({
    type: 'object',
    additionalProperties: true,
    description:
      'A calibration profile (kvplan-gpu-profile/1, what `kvplan calibrate` writes). Deployments name it by id (calibrationId).',
  })
  @IsObject()
  profile!: Record<string, unknown>;
}

export function modelConfigBody(e: ModelConfigEntity) {
  return {
    id: e.id,
    name: e.name,
    description: e.description,
    config: e.spec,
    createdAt: e.createdAt,
    updatedAt: e.updatedAt,
  };
}

export function calibrationBody(e: CalibrationEntity) {
  return {
    id: e.id,
    name: e.name,
    description: e.description,
    profile: e.spec,
    createdAt: e.createdAt,
    updatedAt: e.updatedAt,
  };
}
