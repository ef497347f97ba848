import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { jsonBodyIssues } from './json-body';
import { InputIssuesException } from './validation';

function badRequest(reply: FastifyReply, err: InputIssuesException): FastifyReply {
  return reply.code(400).header('content-type', 'application/json; charset=utf-8').send(err.getResponse());
}

/**
 * Replaces Fastify's JSON parser by one that also applies JSON_LIMITS and refuses unstorable
 * text (400 naming the field, before any recursive walk), and checks query strings and path
 * parameters the same way before validation.
 */
export function guardJsonInput(fastify: FastifyInstance, bodyLimit: number): void {
  fastify.removeContentTypeParser('application/json');
  fastify.addContentTypeParser(
    'application/json',
    { parseAs: 'string', bodyLimit },
    (_req: FastifyRequest, text: string | Buffer, done: (err: Error | null, body?: unknown) => void) => {
      const raw = typeof text === 'string' ? text : text.toString('utf8');
      if (raw.trim() === '') return done(null, undefined);
      let body: unknown;
      try {
        body = JSON.parse(raw);
      } catch (err) {
        const message = err instanceof RangeError ? 'nested too deeply' : 'not valid JSON';
        return done(new InputIssuesException([{ path: 'body', message }]));
      }
      if (typeof body !== 'object' || body === null || Array.isArray(body))
        return done(new InputIssuesException([{ path: 'body', message: 'expected a JSON object' }]));
      const issues = jsonBodyIssues(body);
      done(issues.length ? new InputIssuesException(issues) : null, body);
    },
  );
  fastify.addHook('preValidation', async (req, reply) => {
    const issues = [...jsonBodyIssues(req.query, 'query'), ...jsonBodyIssues(req.params, 'params')];
    if (issues.length) return badRequest(reply, new InputIssuesException(issues));
  });
}
