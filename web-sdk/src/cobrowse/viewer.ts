// The advisor side of co-browsing: rebuilds the customer's page from the
// relay's frames in an iframe with sandbox="allow-same-origin" (no script
// runs there) under a strict Content-Security-Policy, scaled to fit,
// applying events as they arrive rather than on the recorder's timeline.
// It shows the customer's pointer, scroll, focus and window size, and
// sends the advisor's pointer, highlights, control requests and actions.
import { Replayer } from "@rrweb/replay";
import { inflateRaw } from "./compress";
import { type ChunkHeader, type ControlStateName, type Header, Reassembler, decodeFrame, encodeFrame } from "./protocol";
import { Rewriter } from "./rewrite";
import { EventType, type RREvent, Source } from "./scrub";

export type Send = (frame: Uint8Array) => boolean;
export type ViewerMode = "point" | "highlight" | "control";

export interface ViewerOptions {
  /** Where the view goes; it fills this element. */
  container: HTMLElement;
  /** The transport back to the relay. */
  send: Send;
  /** Called whenever something shown in a status line changes. */
  onState?: (s: ViewerState) => void;
  /** Called with the outcome of each action sent. */
  onResult?: (r: { id: number; ok: boolean; err?: string }) => void;
  /** Called after each frame's events are applied (tests, latency). */
  onApplied?: (kind: "snap" | "ev", events: readonly RREvent[]) => void;
  mode?: ViewerMode;
}

export interface ViewerState {
  me: string;
  sharing: boolean;
  href: string;
  width: number;
  height: number;
  scale: number;
  control: ControlStateName;
  controlParticipant: string;
}

export interface ViewerSession {
  receive(frame: Uint8Array): void;
  setMode(m: ViewerMode): void;
  requestControl(): void;
  releaseControl(): void;
  /** Asks the relay for the held state again. */
  resync(): void;
  destroy(): void;
  state(): ViewerState;
  /** The rebuilt page's iframe (tests). */
  iframe(): HTMLIFrameElement | null;
  /** The rrweb id of a node in the rebuilt page (tests). */
  nodeId(n: Node): number;
  stats(): { frames: number; bytes: number; events: number; resyncs: number };
}

/** The policy the rebuilt document runs under (on top of the page's own). */
export const FRAME_CSP =
  "default-src 'none'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; font-src 'self' data:; media-src 'none'; script-src 'none'; object-src 'none'; frame-src 'self'; form-action 'none'; base-uri 'none'";

const CSS = `
:host { display: block; position: relative; overflow: hidden; background: #e8e8e8; }
.stage { position: absolute; inset: 0; overflow: hidden; }
.frame { position: absolute; left: 0; top: 0; transform-origin: 0 0; background: #fff; box-shadow: 0 0 0 1px #bbb; }
.replayer-wrapper { position: relative; }
.replayer-wrapper > iframe { border: 0; display: block; pointer-events: none; background: #fff; }
.replayer-mouse { position: absolute; width: 20px; height: 20px; pointer-events: none; z-index: 3; transition: left .05s linear, top .05s linear; }
.replayer-mouse::after { content: ""; position: absolute; left: 0; top: 0; border-style: solid; border-width: 0 0 16px 10px; border-color: transparent transparent transparent #1565c0; transform: skewY(25deg); filter: drop-shadow(0 0 1px #fff); }
.replayer-mouse.active::before { content: ""; position: absolute; left: -10px; top: -10px; width: 20px; height: 20px; border-radius: 50%; border: 2px solid #1565c0; }
.overlay { position: absolute; left: 0; top: 0; z-index: 4; cursor: crosshair; outline: none; }
.overlay.control { cursor: pointer; }
.focus { position: absolute; z-index: 2; pointer-events: none; border: 2px solid #1565c0; border-radius: 3px; display: none; }
.draw { position: absolute; z-index: 5; pointer-events: none; border: 2px dashed #c2185b; display: none; }
.msg { position: absolute; inset: 0; display: flex; align-items: center; justify-content: center; font: 15px system-ui, sans-serif; color: #444; pointer-events: none; }
.msg[hidden] { display: none; }
`;

/** Starts a viewer in opts.container. */
export function startViewer(opts: ViewerOptions): ViewerSession {
  return new Viewer(opts);
}

const POINTER_SOURCES: ReadonlySet<unknown> = new Set([Source.MouseMove, Source.TouchMove, Source.Drag, Source.MouseInteraction]);

class Viewer implements ViewerSession {
  private readonly host: HTMLElement;
  private readonly frame: HTMLDivElement;
  private readonly overlay: HTMLDivElement;
  private readonly focusRing: HTMLDivElement;
  private readonly draw: HTMLDivElement;
  private readonly msg: HTMLDivElement;
  private readonly mount: HTMLDivElement;
  private readonly rw = new Rewriter("");
  private readonly reasm = new Reassembler(64 << 20);
  private replayer: Replayer | null = null;
  private baseline = 0;
  private chain: Promise<void> = Promise.resolve();
  private epoch = 0;
  private lastSeq = 0;
  private needSent = false;
  private mode: ViewerMode;
  private st: ViewerState = { me: "", sharing: false, href: "", width: 0, height: 0, scale: 1, control: "none", controlParticipant: "" };
  private focusTarget: Element | null = null;
  private target = 0; // the node keys go to
  private actionId = 0;
  private lastPtr = 0;
  private drawStart: { x: number; y: number } | null = null;
  private readonly resizeObs: ResizeObserver;
  private readonly counters = { frames: 0, bytes: 0, events: 0, resyncs: 0 };
  private destroyed = false;

  constructor(private readonly opts: ViewerOptions) {
    this.mode = opts.mode ?? "point";
    this.host = document.createElement("lotse-viewer");
    this.host.style.setProperty("display", "block");
    this.host.style.setProperty("width", "100%");
    this.host.style.setProperty("height", "100%");
    const root = this.host.attachShadow({ mode: "open" });
    const sheet = new CSSStyleSheet();
    sheet.replaceSync(CSS);
    root.adoptedStyleSheets = [sheet];
    const stage = el("div", "stage");
    this.frame = el("div", "frame");
    this.mount = el("div", "mount");
    this.focusRing = el("div", "focus");
    this.draw = el("div", "draw");
    this.overlay = el("div", "overlay");
    this.overlay.tabIndex = 0;
    this.msg = el("div", "msg");
    this.msg.textContent = "…";
    this.frame.append(this.mount, this.focusRing, this.draw, this.overlay);
    stage.append(this.frame);
    root.append(stage, this.msg);
    opts.container.append(this.host);
    this.resizeObs = new ResizeObserver(() => this.fit());
    this.resizeObs.observe(this.host);
    this.bindInput();
    this.setMode(this.mode);
  }

  receive(frame: Uint8Array): void {
    if (this.destroyed) return;
    this.counters.frames++;
    this.counters.bytes += frame.length;
    let f = decodeFrame(frame);
    if (!f) return;
    if (f.header.t === "chunk") {
      const whole = this.reasm.add(f.header as ChunkHeader, f.payload);
      if (!whole) return;
      f = decodeFrame(whole);
      if (!f) return;
    }
    const { header, payload } = f;
    // Everything goes through one chain so frames apply in order, though
    // inflating is asynchronous.
    this.chain = this.chain.then(() => this.handle(header, payload)).catch((err: unknown) => {
      console.warn("lotse viewer: frame failed", err);
      this.resync();
    });
  }

  private async handle(h: Header, payload: Uint8Array): Promise<void> {
    switch (h.t) {
      case "hello":
        this.st.me = h.p;
        this.rw.setBase(h.assets ?? "");
        this.emit();
        return;
      case "snap":
      case "ev": {
        const json = h.z ? await inflateRaw(payload, 64 << 20) : payload;
        if (this.destroyed) return;
        const events = JSON.parse(new TextDecoder().decode(json)) as RREvent[];
        if (h.t === "snap") this.applySnapshot(h.e, h.s, events);
        else this.applyEvents(h.e, h.s, events);
        return;
      }
      case "ctlstate":
        this.st.control = h.st;
        this.st.controlParticipant = h.p ?? "";
        this.emit();
        return;
      case "res":
        this.opts.onResult?.(h.err !== undefined ? { id: h.a, ok: h.ok, err: h.err } : { id: h.a, ok: h.ok });
        return;
      case "bye":
        this.st.sharing = false;
        this.epoch = 0;
        this.lastSeq = 0;
        this.msg.hidden = false;
        this.msg.textContent = "Co-browsing ended";
        this.frame.style.opacity = "0.35";
        this.emit();
        return;
    }
  }

  private ensureReplayer(): Replayer {
    if (this.replayer) return this.replayer;
    const r = new Replayer([], {
      root: this.mount,
      liveMode: true,
      useVirtualDom: false,
      showWarning: false,
      showDebug: false,
      mouseTail: false,
      triggerFocus: false, // focusing the copy would pull the advisor's keys into it; the focus ring shows focus
      pauseAnimation: false,
      UNSAFE_replayCanvas: false,
      skipInactive: false,
      loadTimeout: 0,
      insertStyleRules: ["[data-lotse-ui] { display: none !important; }", "lotse-cobrowse { display: none !important; }"],
    });
    r.on("resize", (d: unknown) => {
      const { width, height } = d as { width: number; height: number };
      this.st.width = width;
      this.st.height = height;
      this.fit();
      this.emit();
    });
    r.on("fullsnapshot-rebuilded", () => this.lockDown());
    r.on("mouse-interaction", (d: unknown) => {
      const { type, target } = d as { type: number; target: Element };
      if (type === 5) this.focusTarget = target; // Focus
      if (type === 6 && this.focusTarget === target) this.focusTarget = null; // Blur
    });
    // Scrollbars as on the customer's page, so the layout width matches
    // (the advisor still cannot scroll it: pointer-events are off).
    r.iframe.setAttribute("scrolling", "auto");
    this.baseline = Date.now();
    r.startLive(this.baseline);
    this.replayer = r;
    return r;
  }

  /** Puts the page's own policy in front of everything it loads later. */
  private lockDown(): void {
    const doc = this.replayer?.iframe.contentDocument;
    if (!doc?.head) return;
    const meta = doc.createElement("meta");
    meta.httpEquiv = "Content-Security-Policy";
    meta.content = FRAME_CSP;
    doc.head.prepend(meta);
  }

  private applySnapshot(epoch: number, seq: number, events: RREvent[]): void {
    const r = this.ensureReplayer();
    // Live mode keeps every event for seeking, which we never do: drop
    // them at each snapshot so memory stays bounded.
    const ctx = (r.service.state.context as unknown as { events?: unknown[] }).events;
    if (Array.isArray(ctx)) ctx.length = 0;
    this.epoch = epoch;
    this.lastSeq = seq;
    this.needSent = false;
    this.focusTarget = null;
    this.st.sharing = true;
    this.msg.hidden = true;
    this.frame.style.opacity = "1";
    for (const e of events) {
      this.rw.event(e, this.lookup);
      if (e.type === EventType.Meta && typeof e.data.href === "string") this.st.href = e.data.href;
      this.add(r, e);
    }
    this.counters.events += events.length;
    this.afterApply("snap", events);
  }

  private applyEvents(epoch: number, seq: number, events: RREvent[]): void {
    const r = this.replayer;
    if (!r || epoch !== this.epoch || seq !== this.lastSeq + 1) {
      // A gap: everything until the next base would apply to the wrong
      // page state. Ask once for the held state.
      if (!this.needSent) this.resync();
      return;
    }
    this.lastSeq = seq;
    for (const e of events) {
      this.rw.event(e, this.lookup);
      this.add(r, e);
    }
    this.counters.events += events.length;
    this.afterApply("ev", events);
  }

  private add(r: Replayer, e: RREvent): void {
    // Pointer events go through rrweb's animation timer (next frame);
    // everything else applies now, synchronously (rrweb's "sync" path:
    // a timestamp before the live baseline).
    const pointer = e.type === EventType.IncrementalSnapshot && POINTER_SOURCES.has(e.data.source);
    e.timestamp = pointer ? Date.now() : this.baseline - 1;
    r.addEvent(e as never);
  }

  private afterApply(kind: "snap" | "ev", events: RREvent[]): void {
    // rrweb's addEvent applies in a microtask: follow it.
    void Promise.resolve().then(() => {
      this.placeFocus();
      this.opts.onApplied?.(kind, events);
    });
  }

  private readonly lookup = (id: number): string => {
    const n = this.replayer?.getMirror().getNode(id) as Node | null | undefined;
    if (!n) return "";
    if (n.nodeType === Node.ELEMENT_NODE) return (n as Element).localName;
    return n.parentNode && n.parentNode.nodeType === Node.ELEMENT_NODE ? (n.parentNode as Element).localName : "";
  };

  private placeFocus(): void {
    const t = this.focusTarget;
    if (!t || !t.isConnected || t.ownerDocument !== this.replayer?.iframe.contentDocument) {
      this.focusRing.style.display = "none";
      return;
    }
    const r = t.getBoundingClientRect();
    Object.assign(this.focusRing.style, { display: "block", left: `${r.left - 3}px`, top: `${r.top - 3}px`, width: `${r.width + 2}px`, height: `${r.height + 2}px` });
  }

  private fit(): void {
    const w = this.st.width || 1280;
    const h = this.st.height || 800;
    const box = this.host.getBoundingClientRect();
    const s = box.width > 0 && box.height > 0 ? Math.min(box.width / w, box.height / h, 1) : 1;
    this.st.scale = s;
    Object.assign(this.frame.style, { width: `${w}px`, height: `${h}px`, transform: `scale(${s})` });
    Object.assign(this.overlay.style, { width: `${w}px`, height: `${h}px` });
  }

  /** Page coordinates (the customer's viewport, CSS px) of a mouse event. */
  private at(ev: MouseEvent): { x: number; y: number } {
    const r = this.frame.getBoundingClientRect();
    const s = this.st.scale || 1;
    return { x: (ev.clientX - r.left) / s, y: (ev.clientY - r.top) / s };
  }

  private bindInput(): void {
    const o = this.overlay;
    o.addEventListener("pointermove", (ev) => {
      const p = this.at(ev);
      const now = performance.now();
      if (now - this.lastPtr >= 33) {
        this.lastPtr = now;
        this.send({ t: "ptr", x: p.x, y: p.y });
      }
      if (this.drawStart) {
        const d = this.rect(this.drawStart, p);
        Object.assign(this.draw.style, { display: "block", left: `${d.x}px`, top: `${d.y}px`, width: `${d.w}px`, height: `${d.h}px` });
      }
    });
    o.addEventListener("pointerleave", () => this.send({ t: "ptr", x: 0, y: 0, h: true }));
    o.addEventListener("pointerdown", (ev) => {
      o.focus({ preventScroll: true });
      if (this.mode === "highlight") {
        this.drawStart = this.at(ev);
        o.setPointerCapture(ev.pointerId);
      }
    });
    o.addEventListener("pointerup", (ev) => {
      if (this.mode !== "highlight" || !this.drawStart) return;
      const end = this.at(ev);
      let d = this.rect(this.drawStart, end);
      this.drawStart = null;
      this.draw.style.display = "none";
      if (d.w < 4 && d.h < 4) {
        // A click: highlight the element under it.
        const e = this.elementAt(end.x, end.y);
        if (e) {
          const r = e.getBoundingClientRect();
          d = { x: r.left, y: r.top, w: r.width, h: r.height };
        }
      }
      this.send({ t: "hl", x: d.x, y: d.y, w: d.w, h: d.h });
    });
    o.addEventListener("click", (ev) => {
      if (this.mode !== "control") return;
      const p = this.at(ev);
      const e = this.elementAt(p.x, p.y);
      const id = e ? this.nodeId(e) : -1;
      if (id > 0) {
        this.target = id;
        this.act({ k: "click", n: id });
      }
    });
    o.addEventListener(
      "wheel",
      (ev) => {
        if (this.mode !== "control") return;
        ev.preventDefault();
        const doc = this.replayer?.iframe.contentDocument;
        const win = this.replayer?.iframe.contentWindow;
        if (!doc || !win) return;
        const id = this.nodeId(doc);
        if (id > 0) this.act({ k: "scroll", n: id, x: win.scrollX + ev.deltaX, y: Math.max(0, win.scrollY + ev.deltaY) });
      },
      { passive: false },
    );
    o.addEventListener("keydown", (ev) => {
      if (this.mode !== "control" || this.target <= 0 || ev.ctrlKey || ev.metaKey || ev.altKey) return;
      if (ev.key.length === 1) this.act({ k: "type", n: this.target, v: ev.key });
      else if (["Backspace", "Enter", "Escape", "Tab"].includes(ev.key)) this.act({ k: "key", n: this.target, v: ev.key });
      else return;
      ev.preventDefault();
    });
  }

  private rect(a: { x: number; y: number }, b: { x: number; y: number }): { x: number; y: number; w: number; h: number } {
    return { x: Math.min(a.x, b.x), y: Math.min(a.y, b.y), w: Math.abs(a.x - b.x), h: Math.abs(a.y - b.y) };
  }

  /** The innermost element at (x, y) of the rebuilt page, through shadow roots and iframes. */
  private elementAt(x: number, y: number): Element | null {
    let doc: Document | ShadowRoot | null | undefined = this.replayer?.iframe.contentDocument;
    let e: Element | null = null;
    for (let depth = 0; doc && depth < 16; depth++) {
      const hit: Element | null = doc.elementFromPoint(x, y);
      if (!hit || hit === e) break;
      e = hit;
      if (hit.shadowRoot) {
        doc = hit.shadowRoot;
        continue;
      }
      // The rebuilt page is another realm: compare names, not classes.
      const inner: Document | null = hit.localName === "iframe" ? (hit as HTMLIFrameElement).contentDocument : null;
      if (inner) {
        const r = hit.getBoundingClientRect();
        x -= r.left;
        y -= r.top;
        doc = inner;
        continue;
      }
      break;
    }
    return e;
  }

  nodeId(n: Node): number {
    return this.replayer?.getMirror().getId(n as never) ?? -1;
  }

  private act(a: { k: "click" | "type" | "key" | "scroll"; n: number; v?: string; x?: number; y?: number }): number {
    const id = ++this.actionId;
    this.send({ t: "act", a: id, ...a });
    return id;
  }

  private send(h: Header): void {
    this.opts.send(encodeFrame(h));
  }

  private emit(): void {
    this.opts.onState?.({ ...this.st });
  }

  setMode(m: ViewerMode): void {
    this.mode = m;
    this.overlay.className = m === "control" ? "overlay control" : "overlay";
  }

  requestControl(): void {
    this.send({ t: "ctl", op: "request" });
  }

  releaseControl(): void {
    this.send({ t: "ctl", op: "release" });
  }

  resync(): void {
    this.needSent = true;
    this.counters.resyncs++;
    this.send({ t: "need" });
  }

  state(): ViewerState {
    return { ...this.st };
  }

  iframe(): HTMLIFrameElement | null {
    return this.replayer?.iframe ?? null;
  }

  stats(): { frames: number; bytes: number; events: number; resyncs: number } {
    return { ...this.counters };
  }

  destroy(): void {
    this.destroyed = true;
    this.resizeObs.disconnect();
    this.replayer?.destroy();
    this.replayer = null;
    this.host.remove();
  }
}

function el(tag: "div", cls: string): HTMLDivElement {
  const e = document.createElement(tag);
  e.className = cls;
  return e;
}
