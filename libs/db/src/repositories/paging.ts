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
