// Test harness for the customer side (cobrowse/browser_test.go and the
// co-browse benchmark): connects capture to a test WebSocket of the real
// relay and exposes hooks on window.lotseTest. Not part of the SDK.
import { pack } from "@rrweb/packer";
import { type CaptureSession, resumeState, startCapture } from "../capture";
import { DATA_CHANNEL_MESSAGE_BYTES } from "../protocol";
import type { RREvent } from "../scrub";

interface TestHooks {
  session: CaptureSession | null;
  start(): void;
  shadow(): ShadowRoot | null;
  connected: boolean;
  marks: Record<string, number>;
  setValue(sel: string, prefix: string, n: number, gapMs: number): Promise<Record<string, number>>;
  mutate(rate: number, durationMs: number): Promise<{ sent: Record<string, number>; count: number }>;
  events: RREvent[] | null;
  record(on: boolean): void;
  packedBytes(): { packed: number; packedUtf8: number; events: number };
}

declare global {
  interface Window {
    lotseTest: TestHooks;
  }
}

const script = document.currentScript as HTMLScriptElement;
const wsURL = script.dataset.ws ?? "";
const conversation = script.dataset.conv ?? "c1";
const rules = JSON.parse(script.dataset.rules ?? "{}") as { mask?: string[]; maskText?: string[]; block?: string[] };
const autostart = script.dataset.autostart === "true";
const now = (): number => performance.timeOrigin + performance.now();

let ws: WebSocket | null = null;
let delay = 100;

const hooks: TestHooks = {
  session: null,
  connected: false,
  marks: {},
  events: null,
  start() {
    if (hooks.session) return;
    hooks.session = startCapture({
      conversation,
      rules,
      lang: "de",
      displayName: (p) => (p === "adv1" ? "Anna Berater" : p),
      send: null,
      maxMessageBytes: DATA_CHANNEL_MESSAGE_BYTES,
      tap: (e) => {
        if (hooks.events) hooks.events.push(JSON.parse(JSON.stringify(e)) as RREvent);
      },
    });
    connect();
  },
  shadow() {
    return hooks.session?.debugShadowRoot() ?? null;
  },
  async setValue(sel, prefix, n, gapMs) {
    const el = document.querySelector(sel) as HTMLInputElement;
    const sent: Record<string, number> = {};
    for (let i = 0; i < n; i++) {
      const v = `${prefix}${i}`;
      el.value = v;
      sent[v] = now();
      el.dispatchEvent(new Event("input", { bubbles: true }));
      await new Promise((r) => setTimeout(r, gapMs));
    }
    return sent;
  },
  async mutate(rate, durationMs) {
    // Ten cells, one mutation per cell per tick, so rrweb's mutation
    // batching never merges two values of one cell.
    const cells = Array.from({ length: 10 }, (_, k) => document.getElementById(`cell${k}`) as HTMLElement);
    const sent: Record<string, number> = {};
    const start = performance.now();
    let count = 0;
    while (performance.now() - start < durationMs) {
      const due = Math.floor(((performance.now() - start) / 1000) * rate);
      while (count < due) {
        const cell = cells[count % 10];
        const v = `m${count}`;
        if (cell) cell.textContent = v;
        sent[v] = now();
        count++;
        if (count % 10 === 0) break; // at most one value per cell per tick
      }
      await new Promise((r) => setTimeout(r, 4));
    }
    return { sent, count };
  },
  record(on) {
    hooks.events = on ? [] : null;
  },
  packedBytes() {
    let packed = 0;
    let packedUtf8 = 0;
    const enc = new TextEncoder();
    for (const e of hooks.events ?? []) {
      const s = pack(e as never);
      packed += s.length;
      packedUtf8 += enc.encode(JSON.stringify(s)).length;
    }
    return { packed, packedUtf8, events: hooks.events?.length ?? 0 };
  },
};
window.lotseTest = hooks;

function connect(): void {
  ws = new WebSocket(wsURL);
  ws.binaryType = "arraybuffer";
  ws.onopen = () => {
    delay = 100;
    hooks.connected = true;
    const sock = ws;
    hooks.session?.setTransport((f) => {
      if (!sock || sock.readyState !== WebSocket.OPEN) return false;
      sock.send(f as Uint8Array<ArrayBuffer>);
      return true;
    }, DATA_CHANNEL_MESSAGE_BYTES);
  };
  ws.onmessage = (ev) => hooks.session?.receive(new Uint8Array(ev.data as ArrayBuffer));
  ws.onclose = () => {
    hooks.connected = false;
    hooks.session?.setTransport(null);
    if (!hooks.session) return;
    setTimeout(connect, delay);
    delay = Math.min(delay * 2, 2000);
  };
}

if (autostart || resumeState(conversation) !== null) {
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", () => hooks.start());
  else hooks.start();
}
