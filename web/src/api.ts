import type * as z from 'zod';
import type * as C from '../../shared/contracts/api.ts';
import type * as H from '../../shared/contracts/history.ts';

export type SiteSummary = z.infer<typeof C.SiteSummary>;
export type SiteList = z.infer<typeof C.SiteList>;
export type SiteDetail = z.infer<typeof C.SiteDetail>;
export type IncidentView = z.infer<typeof C.IncidentView>;
export type IncidentPage = z.infer<typeof C.IncidentPage>;
export type IncidentDetail = z.infer<typeof C.IncidentDetail>;
export type TransitionView = z.infer<typeof C.TransitionView>;
export type MaintenanceList = z.infer<typeof C.MaintenanceList>;
export type MaintenanceWindowView = z.infer<typeof C.MaintenanceWindowView>;
export type Problem = z.infer<typeof C.Problem>;

/** A response that was not 2xx, with the problem document the API sent (when it sent one). */
export class ApiError extends Error {
  readonly status: number;
  readonly problem: Partial<Problem> | undefined;

  constructor(status: number, problem: Partial<Problem> | undefined, path: string) {
    super(`${path}: ${status} ${problem?.detail ?? problem?.title ?? 'request failed'}`);
    this.name = 'ApiError';
    this.status = status;
    this.problem = problem;
  }
}

/** GET on this origin's API, with the key when there is one; the JSON body. */
export async function getJson<T>(path: string, key?: string, signal?: AbortSignal): Promise<T> {
  const res = await fetch(path, {
    headers: { accept: 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}) },
    cache: 'no-store',
    ...(signal ? { signal } : {}),
  });
  if (!res.ok) {
    const problem = (await res.json().catch(() => undefined)) as Partial<Problem> | undefined;
    throw new ApiError(res.status, problem, path);
  }
  return (await res.json()) as T;
}

/** A server-sent event as the stream delivers it. */
export interface StreamEvent {
  readonly event: string;
  readonly data: unknown;
}

/**
 * Reads `GET path` as a stream of server-sent events, with the key in the Authorization header (which EventSource
 * cannot send), until `signal` aborts or the server ends it. Rejects with ApiError when the server refuses it.
 */
export async function readEvents(
  path: string,
  key: string,
  onOpen: () => void,
  onEvent: (e: StreamEvent) => void,
  signal: AbortSignal,
): Promise<void> {
  const res = await fetch(path, {
    headers: { accept: 'text/event-stream', authorization: `Bearer ${key}` },
    cache: 'no-store',
    signal,
  });
  if (!res.ok || !res.body) {
    const problem = (await res.json().catch(() => undefined)) as Partial<Problem> | undefined;
    throw new ApiError(res.status, problem, path);
  }
  onOpen();
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value;
    let end: number;
    while ((end = buffer.indexOf('\n\n')) !== -1) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let event = 'message';
      const data: string[] = [];
      for (const line of block.split('\n')) {
        if (line.startsWith('event:')) event = line.slice(6).trim();
        else if (line.startsWith('data:')) data.push(line.slice(5).trimStart());
      }
      if (data.length === 0) continue;
      try {
        onEvent({ event, data: JSON.parse(data.join('\n')) as unknown });
      } catch {
        // A line that is not JSON is not ours: skip it.
      }
    }
  }
}

export type CheckHistory = z.infer<typeof H.CheckHistory>;
export type HistoryBucket = z.infer<typeof H.HistoryBucket>;
export type StatusPage = z.infer<typeof H.StatusPage>;
