// The advisor console app: the list of conversations (live state, waiting
// customers first), "new conversation" with the link and code to hand over,
// and the session room (admit, chat, end, timeline). Pages for sign-in and
// administration are server-rendered; this app runs on /console.
import { api, ApiError, type HealthBody } from "../protocol";
import { pickLang, t, type Lang } from "../i18n";
import { h } from "../widget/dom";
import { renderList } from "./list";
import { openRoom } from "./room";

export interface Ctx {
  lang: Lang;
  csrf: string;
  userID: string;
  /** Calls the API with the session cookie and CSRF token. */
  call<T>(method: string, path: string, body?: unknown): Promise<T>;
  main: HTMLElement;
}

function init(): void {
  const app = document.getElementById("app");
  if (!app) return;
  const lang = pickLang(app.dataset["lang"]);
  const csrf = app.dataset["csrf"] ?? "";
  const ctx: Ctx = {
    lang,
    csrf,
    userID: app.dataset["user"] ?? "",
    call: (method, path, body) => api(location.origin, method, path, body, method === "GET" ? {} : { "X-CSRF-Token": csrf }),
    main: h("div", { class: "console-main" }),
  };
  void showVersions(app);
  app.append(ctx.main);
  let cleanup: (() => void) | null = null;
  const route = () => {
    cleanup?.();
    cleanup = null;
    ctx.main.replaceChildren();
    const m = /^#\/c\/([0-9a-f-]{36})$/.exec(location.hash);
    cleanup = m?.[1] ? openRoom(ctx, m[1]) : renderList(ctx);
  };
  window.addEventListener("hashchange", route);
  route();
}

async function showVersions(app: HTMLElement): Promise<void> {
  const set = (id: string, v: string) => {
    const el = app.querySelector("#" + id);
    if (el) el.textContent = v;
  };
  set("sdk-version", window.Lotse?.version ?? "");
  try {
    const h = await api<HealthBody>(location.origin, "GET", "/healthz");
    set("server-version", h.version);
    set("server-status", h.status);
  } catch (e) {
    set("server-status", e instanceof ApiError ? e.code : "unreachable");
  }
}

/** The label of a conversation state. */
export function stateLabel(lang: Lang, s: string): string {
  switch (s) {
    case "created":
      return t(lang, "state_created");
    case "waiting":
      return t(lang, "state_waiting");
    case "active":
      return t(lang, "state_active");
    default:
      return t(lang, "state_ended");
  }
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init, { once: true });
else init();
