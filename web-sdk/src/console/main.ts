// The advisor console. This first version shows which server and SDK it
// talks to; later parts add login, conversations and the session room.
import { isErrorBody, type HealthBody } from "../protocol";
import { SDK_VERSION } from "../version";

function text(id: string, value: string): void {
  const el = document.getElementById(id);
  if (el) el.textContent = value;
}

async function main(): Promise<void> {
  text("sdk-version", window.Lotse?.version ?? SDK_VERSION);
  try {
    const res = await fetch("/healthz", { headers: { Accept: "application/json" } });
    const body: unknown = await res.json();
    if (isErrorBody(body)) {
      text("server-status", body.error.message);
      return;
    }
    const h = body as HealthBody;
    text("server-version", h.version);
    text("server-status", h.status);
  } catch {
    text("server-status", "unreachable");
  }
}

void main();
