import { BadRequestException, ParseUUIDPipe, ValidationPipe, type ValidationError } from '@nestjs/common';
import type { InputIssue } from '@kvplan/sim';

/** Flattens class-validator errors into `{path, message}` issues (`engine.blockSize: must be ...`). */
export function flattenValidationErrors(errors: ValidationError[], parent = ''): InputIssue[] {
  const out: InputIssue[] = [];
  for (const e of errors) {
    const path = parent
      ? /^\d+$/.test(e.property)
        ? `${parent}[${e.property}]`
        : `${parent}.${e.property}`
      : e.property;
    for (const message of Object.values(e.constraints ?? {})) out.push({ path, message });
    if (e.children?.length) out.push(...flattenValidationErrors(e.children, path));
  }
  return out;
}

export class InputIssuesException extends BadRequestException {
  constructor(readonly issues: InputIssue[]) {
    super({ statusCode: 400, error: 'Bad Request', message: 'invalid input', issues });
  }
}

/** The one global pipe: DTO classes only, unknown fields rejected, every problem reported. */
export function createValidationPipe(): ValidationPipe {
  return new ValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    forbidUnknownValues: true,
    transform: true,
    validationError: { target: false, value: false },
    stopAtFirstError: false,
    exceptionFactory: (errors) => new InputIssuesException(flattenValidationErrors(errors)),
  });
}

/** Path ids: a UUID, else 400 naming the parameter. */
export const UUID_PIPE = new ParseUUIDPipe();
