// Test harness for the advisor side: a viewer connected to a test
// WebSocket of the real relay, reconnecting when cut, with hooks on
// window.lotseViewer. Not part of the SDK.
import { type ViewerSession, type ViewerState, startViewer } from "../viewer";

interface Seen {
  sel: string;
  v: string;
  t: number;
}

interface ViewerHooks {
  session: ViewerSession;
  connected: number;
  states: ViewerState[];
  results: { id: number; ok: boolean; err?: string }[];
  seen: Seen[];
  watch(selectors: string[]): void;
  doc(): Document | null;
  applied: number;
}

declare global {
  interface Window {
    lotseViewer: ViewerHooks;
  }
}

const script = document.currentScript as HTMLScriptElement;
const wsURL = script.dataset.ws ?? "";
const now = (): number => performance.timeOrigin + performance.now();
let ws: WebSocket | null = null;
let watched: string[] = [];
const last = new Map<string, string>();

function read(doc: Document, sel: string): string | null {
  const e = doc.querySelector(sel);
  if (!e) return null;
  // The rebuilt page is another realm: instanceof would not match.
  return e.localName === "input" || e.localName === "textarea" ? (e as HTMLInputElement).value : (e.textContent ?? "");
}

const session = startViewer({
  container: document.getElementById("view") as HTMLElement,
  send: (f) => {
    if (!ws || ws.readyState !== WebSocket.OPEN) return false;
    ws.send(f as Uint8Array<ArrayBuffer>);
    return true;
  },
  mode: "point",
  onState: (s) => hooks.states.push(s),
  onResult: (r) => hooks.results.push(r),
  onApplied: () => {
    hooks.applied++;
    const doc = session.iframe()?.contentDocument;
    if (!doc || watched.length === 0) return;
    const t = now();
    for (const sel of watched) {
      const v = read(doc, sel);
      if (v !== null && v !== last.get(sel)) {
        last.set(sel, v);
        hooks.seen.push({ sel, v, t });
      }
    }
  },
});

const hooks: ViewerHooks = {
  session,
  connected: 0,
  states: [],
  results: [],
  seen: [],
  applied: 0,
  watch(selectors) {
    watched = selectors;
    last.clear();
    hooks.seen = [];
  },
  doc() {
    return session.iframe()?.contentDocument ?? null;
  },
};
window.lotseViewer = hooks;

function connect(): void {
  ws = new WebSocket(wsURL);
  ws.binaryType = "arraybuffer";
  ws.onopen = () => {
    hooks.connected++;
  };
  ws.onmessage = (ev) => session.receive(new Uint8Array(ev.data as ArrayBuffer));
  ws.onclose = () => setTimeout(connect, 100);
}
connect();
