import type { ObjectLiteral, SelectQueryBuilder } from 'typeorm';

/** Offset pagination: `limit` rows starting at `offset`, newest first. */
export interface PageQuery {
  limit: number;
  offset: number;
  /** Case-insensitive substring of the name. */
  nameContains?: string;
}

export interface Page<T> {
  items: T[];
  total: number;
  limit: number;
  offset: number;
}

/** Escapes LIKE wildcards so a user's `%` or `_` matches itself. The value is still bound as a parameter. */
export function likePattern(text: string): string {
  return `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/** One page of what `qb` selects (its root alias `alias`), newest first, with the total count. */
export async function newestFirstPage<T extends ObjectLiteral>(
  qb: SelectQueryBuilder<T>,
  alias: string,
  q: PageQuery,
): Promise<Page<T>> {
  const [items, total] = await qb
    .orderBy(`${alias}.created_at`, 'DESC')
    .addOrderBy(`${alias}.id`, 'DESC')
    .take(q.limit)
    .skip(q.offset)
    .getManyAndCount();
  return { items, total, limit: q.limit, offset: q.offset };
}
