// Wire types shared by the Lotse server and the browser code. The Go
// definitions are the source of truth; a Go test checks that this file
// agrees with them (see docs/protocol.md).

/** The version of the HTTP and WebSocket protocol this SDK speaks. */
export const PROTOCOL_VERSION = 1;

/** Every HTTP error response has this body. */
export interface ErrorBody {
  error: {
    /** Stable machine-readable code, e.g. "not_found". */
    code: string;
    /** Short human-readable sentence. */
    message: string;
  };
}

/** GET /healthz and /readyz answer with this body. */
export interface HealthBody {
  status: "ok" | "draining" | "unavailable";
  version: string;
}

/** Narrows an unknown JSON value to ErrorBody. */
export function isErrorBody(v: unknown): v is ErrorBody {
  if (typeof v !== "object" || v === null || !("error" in v)) return false;
  const e = (v as { error: unknown }).error;
  return typeof e === "object" && e !== null && typeof (e as { code?: unknown }).code === "string";
}
