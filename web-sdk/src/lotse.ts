// The customer SDK: the script a bank embeds with
//   <script src="https://lotse.example-bank.de/sdk/v1/lotse.js" data-site-key="pk_..."></script>
// It defines exactly one global, `Lotse`, and touches nothing else on the
// host page: its UI lives in a shadow root. When the page's address carries
// a share token (#lotse=...), the SDK removes it from the address bar and
// opens the widget; `Lotse.open()` offers the 6-digit code launcher.
import { pickLang, type Lang } from "./i18n";
import { PROTOCOL_VERSION } from "./protocol";
import { SDK_VERSION } from "./version";
import { storedSession, Widget } from "./widget/widget";

/** The public surface of window.Lotse. */
export interface LotseGlobal {
  readonly version: string;
  readonly protocolVersion: number;
  /** Opens the widget: with a share token, or the code launcher. */
  open(options?: { token?: string; lang?: Lang }): void;
  /** Closes the widget and ends the customer's part of the session. */
  close(): void;
}

// The script element is only available while the script first runs.
const script = document.currentScript as HTMLScriptElement | null;
const apiBase = script?.src ? new URL(script.src).origin : location.origin;
const landing = script?.dataset["lotseLanding"] === "1";
const siteKey = script?.dataset["siteKey"];
let widget: Widget | null = null;
let launcher: HTMLElement | null = null;

function open(options: { token?: string; lang?: Lang; resume?: boolean } = {}): void {
  widget?.destroy();
  const lang = pickLang(options.lang ?? script?.dataset["lang"]);
  const mount = landing ? document.getElementById("lotse-landing") : null;
  const resume = options.resume && !options.token ? storedSession(apiBase) : null;
  launcher?.remove();
  launcher = null;
  widget = new Widget({
    apiBase, lang, mode: landing ? "page" : "overlay", ...(siteKey ? { siteKey } : {}),
    ...(options.token ? { token: options.token } : {}), ...(mount ? { parent: mount } : {}), ...(resume ? { resume } : {}),
  });
}

/** Reads and removes a share token from the address (fragment #lotse=...). */
function takeTokenFromURL(): string | undefined {
  const m = /(?:^#|&)lotse=([A-Za-z0-9_-]{10,64})/.exec(location.hash);
  if (!m) return undefined;
  const rest = location.hash.replace(/(^#|&)lotse=[A-Za-z0-9_-]+/, "$1").replace(/^#&/, "#");
  history.replaceState(history.state, "", location.pathname + location.search + (rest === "#" ? "" : rest));
  return m[1];
}

const api: LotseGlobal = Object.freeze({
  version: SDK_VERSION,
  protocolVersion: PROTOCOL_VERSION,
  open,
  close: () => {
    widget?.destroy();
    widget = null;
  },
});

declare global {
  interface Window {
    Lotse: LotseGlobal;
  }
}

/**
 * Checks the site key against this page's origin (the server refuses pages
 * the bank did not allow) and, unless the page opts out with
 * data-launcher="false", shows a small button that opens the code launcher.
 */
async function initSite(): Promise<void> {
  if (!siteKey) return;
  try {
    const res = await fetch(`${apiBase}/api/v1/sdk/config?site_key=${encodeURIComponent(siteKey)}`, { credentials: "omit" });
    if (!res.ok) {
      console.warn("Lotse: this page is not allowed to use the site key (ask the bank's Lotse admin to allow its origin)");
      return;
    }
  } catch {
    return;
  }
  if (script?.dataset["launcher"] === "false" || widget) return;
  const lang = pickLang(script?.dataset["lang"]);
  const host = document.createElement("div");
  host.setAttribute("data-lotse", "launcher");
  const root = host.attachShadow({ mode: "closed" });
  const sheet = new CSSStyleSheet(); // not <style>: the bank's CSP may forbid inline styles
  sheet.replaceSync(`:host{all:initial}button{position:fixed;right:16px;bottom:16px;z-index:2147483000;font:600 15px system-ui,sans-serif;
    color:#fff;background:#0b5cad;border:0;border-radius:24px;padding:12px 18px;box-shadow:0 4px 16px rgba(0,0,0,.25);cursor:pointer}
    button:focus-visible{outline:3px solid #f0a500;outline-offset:2px}`);
  root.adoptedStyleSheets = [sheet];
  const btn = document.createElement("button");
  btn.type = "button";
  btn.textContent = lang === "en" ? "Video advice" : "Videoberatung";
  btn.addEventListener("click", () => open({ lang }));
  root.append(btn);
  document.body.append(host);
  launcher = host;
}

if (!("Lotse" in window)) {
  Object.defineProperty(window, "Lotse", { value: api, enumerable: false, configurable: false, writable: false });
  const start = () => {
    const fromPath = landing ? /\/j\/([A-Za-z0-9_-]{10,64})$/.exec(location.pathname)?.[1] : undefined;
    const token = fromPath ?? takeTokenFromURL();
    if (token || landing) open(token ? { token } : {});
    else if (storedSession(apiBase)) open({ resume: true }); // the next page of an ongoing session
    else void initSite();
  };
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start, { once: true });
  else start();
}
