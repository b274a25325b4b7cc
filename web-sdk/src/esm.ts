// The ES module build of the customer SDK, for banks that bundle it:
//   import { open, close, version } from "./lotse.esm.js";
// It does what the script tag does, except that nothing starts until the
// page calls start() (with Lotse's origin and the bank's site key).
export type { Lang } from "./i18n";
export { SDK_VERSION as version } from "./version";

import { pickLang, type Lang } from "./i18n";
import { storedSession, Widget } from "./widget/widget";

export interface StartOptions {
  /** Lotse's origin, e.g. "https://lotse.example-bank.de". */
  apiBase: string;
  /** The bank's public SDK key ("pk_..."). */
  siteKey?: string;
  lang?: Lang;
}

let opts: StartOptions | null = null;
let widget: Widget | null = null;

/** Starts the SDK on this page: continues a session from a previous page, or opens one from a #lotse= token. */
export function start(o: StartOptions): void {
  opts = o;
  const m = /(?:^#|&)lotse=([A-Za-z0-9_-]{10,64})/.exec(location.hash);
  if (m) {
    history.replaceState(history.state, "", location.pathname + location.search);
    open({ token: m[1] as string });
  } else if (storedSession(o.apiBase)) {
    const resume = storedSession(o.apiBase);
    widget = new Widget({ apiBase: o.apiBase, lang: pickLang(o.lang), mode: "overlay", ...(resume ? { resume } : {}), ...(o.siteKey ? { siteKey: o.siteKey } : {}) });
  }
}

/** Opens the widget: with a share token, or the 6-digit code launcher. */
export function open(options: { token?: string; lang?: Lang } = {}): void {
  if (!opts) throw new Error("lotse: call start() first");
  widget?.destroy();
  widget = new Widget({ apiBase: opts.apiBase, lang: pickLang(options.lang ?? opts.lang), mode: "overlay",
    ...(options.token ? { token: options.token } : {}), ...(opts.siteKey ? { siteKey: opts.siteKey } : {}) });
}

/** Closes the widget. */
export function close(): void {
  widget?.destroy();
  widget = null;
}
