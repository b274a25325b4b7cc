// Wire types shared by the Lotse server and the browser code. The message
// types are generated from the Go definitions (signaling/wire) into
// protocol.gen.ts; a Go test fails when the two disagree. This file adds
// the REST shapes and small helpers.
export * from "./protocol.gen";

/** Every HTTP error response has this body. */
export interface ErrorBody {
  error: {
    /** Stable machine-readable code, e.g. "link_expired". */
    code: string;
    /** Short human-readable sentence. */
    message: string;
  };
}

/** GET /healthz answers with this body. */
export interface HealthBody {
  status: "ok";
  version: string;
}

/** The tenant's co-browse masking rules (CSS selectors). */
export interface MaskingRules {
  mask: string[];
  mask_text: string[];
  block: string[];
}

/** POST /api/v1/join and /api/v1/rejoin answer with this body. */
export interface JoinResponse {
  join_token: string;
  expires_at: string;
  conversation_id: string;
  participant_id: string;
  signal_url: string;
  /** Continues the session on the next page (customers; first join only). */
  rejoin_token?: string;
  consent?: { camera: boolean; microphone: boolean; cobrowse: boolean; terms: boolean };
  masking?: MaskingRules;
}

/** Narrows an unknown JSON value to ErrorBody. */
export function isErrorBody(v: unknown): v is ErrorBody {
  if (typeof v !== "object" || v === null || !("error" in v)) return false;
  const e = (v as { error: unknown }).error;
  return typeof e === "object" && e !== null && typeof (e as { code?: unknown }).code === "string";
}

/** An error from the REST API, with its stable code. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** Calls a JSON endpoint and returns its body, or throws ApiError. */
export async function api<T>(base: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<T> {
  const init: RequestInit = { method, headers: { Accept: "application/json", ...headers }, credentials: "same-origin" };
  if (body !== undefined) {
    init.body = JSON.stringify(body);
    (init.headers as Record<string, string>)["Content-Type"] = "application/json";
  }
  let res: Response;
  try {
    res = await fetch(base + path, init);
  } catch {
    throw new ApiError(0, "network", "network error");
  }
  if (res.status === 204) return undefined as T;
  let data: unknown = null;
  try {
    data = await res.json();
  } catch {
    /* not JSON */
  }
  if (!res.ok) {
    if (isErrorBody(data)) throw new ApiError(res.status, data.error.code, data.error.message);
    throw new ApiError(res.status, "http_" + res.status, res.statusText);
  }
  return data as T;
}
