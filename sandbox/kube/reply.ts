/** What a request handler answers; the cluster writes it to the HTTP response and the operation log. */
export interface Reply {
  status: number;
  body: string | Buffer;
  contentType?: string;
  /** Short outcome for the operation log (never Secret data). */
  detail?: string;
}

export function json(status: number, body: unknown, detail?: string): Reply {
  const reply: Reply = {
    status,
    body: typeof body === 'string' ? body : JSON.stringify(body),
    contentType: 'application/json',
  };
  if (detail !== undefined) reply.detail = detail;
  return reply;
}

/** A parsed incoming request, body already read. */
export interface ApiRequest {
  method: string;
  pathname: string;
  query: URLSearchParams;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

export function header(req: ApiRequest, name: string): string {
  const v = req.headers[name];
  return Array.isArray(v) ? v.join(',') : (v ?? '');
}
