import createClient, { type Middleware } from "openapi-fetch";
import type { paths } from "./schema";

export interface ApiError {
  status: number;
  code: string;
  message: string;
  details?: unknown;
}

let bearer: string | null = null;
let onUnauthorized: (() => void) | null = null;

export function setBearer(token: string | null, whenRefused: (() => void) | null = null): void {
  bearer = token;
  onUnauthorized = whenRefused;
}

const auth: Middleware = {
  onRequest({ request }) {
    if (bearer) request.headers.set("Authorization", `Bearer ${bearer}`);
    return request;
  },
  onResponse({ response }) {
    if (response.status === 401 && onUnauthorized) onUnauthorized();
    return response;
  },
};

export type Client = ReturnType<typeof createClient<paths>>;

export function makeClient(baseUrl: string): Client {
  const c = createClient<paths>({ baseUrl });
  c.use(auth);
  return c;
}

/** The error body every failing call carries: {"error": {"code", "message", "details"}}. */
export function toApiError(status: number, body: unknown): ApiError {
  const e = (body as { error?: { code?: string; message?: string; details?: unknown } } | undefined)?.error;
  return {
    status,
    code: e?.code ?? `HTTP_${status}`,
    message: e?.message ?? `HTTP ${status}`,
    details: e?.details,
  };
}

export class ApiFailure extends Error {
  constructor(public readonly error: ApiError) {
    super(`${error.code}: ${error.message}`);
  }
}

/** The data of an openapi-fetch answer, or an ApiFailure carrying the platform's error. */
export async function unwrap<T>(p: Promise<{ data?: T; error?: unknown; response: Response }>): Promise<T> {
  const { data, error, response } = await p;
  if (!response.ok || error !== undefined) throw new ApiFailure(toApiError(response.status, error));
  return data as T;
}

/** A fresh idempotency key for a create or a money move (one per user action). */
export function idemKey(): string {
  return crypto.randomUUID();
}
