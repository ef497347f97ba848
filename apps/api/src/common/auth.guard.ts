import {
  ForbiddenException,
  Injectable,
  UnauthorizedException,
  type CanActivate,
  type ExecutionContext,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { roleAtLeast, type Role } from '@kvplan/contracts';
import { ApiKeys, bearerKey } from './api-keys';
import { IS_PUBLIC, REQUIRED_ROLE, type AuthedRequest } from './auth';

/** `Authorization: Bearer <key>` on every route not marked @Public (keys resolved by ApiKeys). */
@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly keys: ApiKeys,
  ) {}

  async canActivate(ctx: ExecutionContext): Promise<boolean> {
    const targets = [ctx.getHandler(), ctx.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, targets)) return true;
    const req = ctx.switchToHttp().getRequest<AuthedRequest>();
    const secret = bearerKey(req.headers.authorization);
    if (!secret)
      throw new UnauthorizedException(
        'missing or malformed Authorization header: expected "Bearer <api key>"',
      );
    const auth = await this.keys.lookup(secret);
    if (!auth) throw new UnauthorizedException('unknown or revoked API key');
    req.auth = auth;
    const need = this.reflector.getAllAndOverride<Role>(REQUIRED_ROLE, targets) ?? 'viewer';
    if (!roleAtLeast(auth.role, need))
      throw new ForbiddenException(`this needs the ${need} role; the key has ${auth.role}`);
    return true;
  }
}
