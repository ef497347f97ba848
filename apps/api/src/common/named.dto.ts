import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, IsString, Length, MaxLength, ValidateBy, type ValidationOptions } from 'class-validator';

/** Every named document: a name and an optional description. */
export class NamedDto {
  @ApiProperty({ maxLength: 200 })
  @IsString()
  @Length(1, 200)
  name!: string;

  @ApiPropertyOptional({ maxLength: 2000 })
  @IsOptional()
  @IsString()
  @MaxLength(2000)
  description?: string;
}

/** A preset name (string) or an inline object. */
export function IsNameOrObject(opts?: ValidationOptions) {
  return ValidateBy(
    {
      name: 'isNameOrObject',
      validator: {
        validate: (v: unknown) =>
          (typeof v === 'string' && v.trim().length > 0 && v.length <= 200) ||
          (typeof v === 'object' && v !== null && !Array.isArray(v)),
        defaultMessage: (a) => `${a?.property} must be a preset name or an object of inline keys`,
      },
    },
    opts,
  );
}

/** The wire body of a named document whose spec keys sit at its top level (deployments, fusion configs). */
export function specDocumentBody<S extends object>(e: {
  id: string;
  name: string;
  description: string | null;
  spec: S;
  createdAt: Date;
  updatedAt: Date;
}) {
  return {
    id: e.id,
    name: e.name,
    description: e.description,
    ...e.spec,
    createdAt: e.createdAt,
    updatedAt: e.updatedAt,
  };
}
