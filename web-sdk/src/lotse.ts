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
let widget: Widget | null = null;

function open(options: { token?: string; lang?: Lang; resume?: boolean } = {}): void {
  widget?.destroy();
  const lang = pickLang(options.lang ?? script?.dataset["lang"]);
  const mount = landing ? document.getElementById("lotse-landing") : null;
  const resume = options.resume && !options.token ? storedSession(apiBase) : null;
  widget = new Widget({
    apiBase, lang, mode: landing ? "page" : "overlay",
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

if (!("Lotse" in window)) {
  Object.defineProperty(window, "Lotse", { value: api, enumerable: false, configurable: false, writable: false });
  const start = () => {
    const fromPath = landing ? /\/j\/([A-Za-z0-9_-]{10,64})$/.exec(location.pathname)?.[1] : undefined;
    const token = fromPath ?? takeTokenFromURL();
    if (token || landing) open(token ? { token } : {});
    else if (storedSession(apiBase)) open({ resume: true }); // the next page of an ongoing session
  };
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start, { once: true });
  else start();
}
