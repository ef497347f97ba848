/**
 * The API from the browser: the key is entered once, kept in sessionStorage (gone when the tab
 * closes) and sent as a Bearer header. Event streams never carry it: they use a single-use token
 * obtained with it (POST /jobs/:id/stream-token).
 */
const KEY = 'kvplan.apiKey';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly body: { message?: string; issues?: Array<{ path: string; message: string }> } | null,
  ) {
    super(body?.message ? `${status}: ${body.message}` : `request failed with status ${status}`);
  }
}

export const apiKey = {
  get: (): string | null => sessionStorage.getItem(KEY),
  set: (k: string) => sessionStorage.setItem(KEY, k.trim()),
  clear: () => sessionStorage.removeItem(KEY),
};

/** Called when the API answers 401 (key missing, revoked or mistyped). */
let onUnauthorized: () => void = () => undefined;
export function setUnauthorizedHandler(fn: () => void): void {
  onUnauthorized = fn;
}

export async function api<T>(
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE',
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<T> {
  const key = apiKey.get();
  const h: Record<string, string> = { accept: 'application/json', ...headers };
  if (key) h.authorization = `Bearer ${key}`;
  if (body !== undefined) h['content-type'] = 'application/json';
  const res = await fetch(`/api/v1${path}`, {
    method,
    headers: h,
    body: body === undefined ? undefined : JSON.stringify(body),
    cache: 'no-store',
  });
  const text = await res.text();
  let json: unknown = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = { message: text.slice(0, 200) };
  }
  if (res.status === 401) onUnauthorized();
  if (!res.ok) throw new ApiError(res.status, json as ApiError['body']);
  return json as T;
}

/**
 * Downloads a file the API serves (an export): fetched with the Bearer key like every call, then
 * handed to the browser as a Blob, so no key ever sits in a link and no link answers 401.
 */
export async function download(path: string, filename: string): Promise<void> {
  const key = apiKey.get();
  const res = await fetch(`/api/v1${path}`, {
    headers: key ? { authorization: `Bearer ${key}` } : {},
    cache: 'no-store',
  });
  if (res.status === 401) onUnauthorized();
  if (!res.ok) {
    let body: ApiError['body'] = null;
    try {
      body = (await res.json()) as ApiError['body'];
    } catch {
      body = null;
    }
    throw new ApiError(res.status, body);
  }
  saveBlob(await res.blob(), filename);
}

/** Hands a Blob to the browser as a download named `filename`. */
export function saveBlob(blob: Blob, filename: string): void {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  document.body.append(a);
  a.click();
  a.remove();
  // The click has started the download; the URL is no longer needed once it has been read.
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/**
 * Sends a file as the raw body of `POST path` with the key, reporting the bytes sent (an
 * XMLHttpRequest: fetch cannot report upload progress). Resolves to the JSON answer; rejects
 * with an ApiError carrying the API's issues.
 */
export function upload<T>(
  path: string,
  file: Blob,
  contentType: string,
  onProgress: (fraction: number) => void,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', `/api/v1${path}`);
    const key = apiKey.get();
    if (key) xhr.setRequestHeader('authorization', `Bearer ${key}`);
    xhr.setRequestHeader('content-type', contentType);
    xhr.setRequestHeader('accept', 'application/json');
    xhr.upload.onprogress = (e) => {
      if (e.lengthComputable && e.total > 0) onProgress(e.loaded / e.total);
    };
    xhr.onerror = () => reject(new ApiError(0, { message: 'the upload did not reach the server' }));
    xhr.onload = () => {
      let json: unknown = null;
      try {
        json = xhr.responseText ? JSON.parse(xhr.responseText) : null;
      } catch {
        json = { message: xhr.responseText.slice(0, 200) };
      }
      if (xhr.status === 401) onUnauthorized();
      if (xhr.status >= 200 && xhr.status < 300) resolve(json as T);
      else reject(new ApiError(xhr.status, json as ApiError['body']));
    };
    xhr.send(file);
  });
}

export interface ProgressEvent {
  jobId: string;
  status: 'queued' | 'running' | 'succeeded' | 'failed';
  progress: number;
  error: string | null;
}

/**
 * Follows a job's progress over server-sent events. Resolves to a stop function. When the stream
 * ends or breaks before a final status, `onEnd` is called so the caller can fall back to polling.
 */
export async function watchJob(
  jobId: string,
  onEvent: (e: ProgressEvent) => void,
  onEnd: (last: ProgressEvent | null) => void = () => undefined,
): Promise<() => void> {
  const grant = await api<{ token: string; url: string }>('POST', `/jobs/${jobId}/stream-token`);
  const es = new EventSource(grant.url);
  let last: ProgressEvent | null = null;
  let ended = false;
  const end = () => {
    if (ended) return;
    ended = true;
    es.close();
    onEnd(last);
  };
  es.addEventListener('progress', (e) => {
    last = JSON.parse((e as MessageEvent<string>).data) as ProgressEvent;
    onEvent(last);
    if (last.status === 'succeeded' || last.status === 'failed') end();
  });
  // The server closes the stream after the final event; a used token is never retried.
  es.onerror = end;
  return () => {
    ended = true;
    es.close();
  };
}
