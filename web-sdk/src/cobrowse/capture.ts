// The customer side of co-browsing: records the page with rrweb (masking
// before anything leaves), wraps the events in Lotse's protocol (epoch,
// sequence numbers, acks, resend after a reconnect, snapshots on demand,
// chunking, raw deflate), shows the advisor's pointer and highlights, asks
// the customer before the advisor may control the page, and performs the
// advisor's actions on what is not masked.
import { record } from "@rrweb/record";
import { perform } from "./actions";
import { canDeflate, deflateRaw } from "./compress";
import { type MaskRules, Masker } from "./mask";
import { type Lang, Overlay } from "./overlay";
import {
  type ActionHeader,
  type ChunkHeader,
  DATA_CHANNEL_MESSAGE_BYTES,
  type Header,
  Reassembler,
  decodeFrame,
  encodeFrame,
  splitFrame,
} from "./protocol";
import { EventType, type NodeMirror, type RREvent, Source, scrubEvent } from "./scrub";

/** Hands one message to the transport; false when it cannot take it now. */
export type Send = (frame: Uint8Array) => boolean;

export interface CaptureOptions {
  /** The conversation id: the key of the state kept across page loads. */
  conversation: string;
  /** The transport (data channel or WebSocket); may be set later. */
  send?: Send | null;
  /** The transport's message limit (16 KiB for data channels). */
  maxMessageBytes?: number;
  /** The tenant's masking rules (selectors); an invalid one stops the start. */
  rules?: MaskRules;
  /** Show Lotse's indicator, Stop button and control prompt (default true). */
  ui?: boolean;
  lang?: Lang;
  /** Display name for a participant id (advisor names in the UI). */
  displayName?: (participant: string) => string;
  /** Called when the customer presses Stop (after capture has stopped). */
  onStop?: () => void;
  /** Called on every change of who watches and of the control state. */
  onState?: (s: CaptureState) => void;
  /** How long events wait to be sent together (ms, default 20). */
  batchMs?: number;
  /** Where the state across page loads lives (default sessionStorage). */
  storage?: Storage;
  /** Sees every event as sent, after masking (tests and benchmarks). */
  tap?: (e: Readonly<RREvent>) => void;
}

export interface CaptureState {
  viewers: string[];
  control: string;
  controlParticipant: string;
  /** Whom the customer has granted control, if anyone. */
  granted: string | null;
}

export interface CaptureStats {
  frames: number;
  bytes: number;
  events: number;
  rawBytes: number;
  snapshots: number;
  snapshotRawBytes: number;
  snapshotBytes: number;
}

export interface CaptureSession {
  /** Hand every message from the server here. */
  receive(frame: Uint8Array): void;
  /** Set (or clear) the transport; a new one gets every unacked frame again. */
  setTransport(send: Send | null, maxMessageBytes?: number): void;
  grantControl(participant: string): void;
  denyControl(participant: string): void;
  revokeControl(): void;
  /** Stops recording, tells the server, removes the UI. */
  stop(): void;
  readonly epoch: number;
  stats(): CaptureStats;
  /** For tests: the overlay's shadow root. */
  debugShadowRoot(): ShadowRoot;
}

interface Stored {
  epoch: number;
  granted: string | null;
}

const KEY = "lotse.cobrowse.";
const MAX_UNACKED_BYTES = 8 << 20;

/** Reads the state a previous page of this tab left: non-null means co-browsing was on. */
export function resumeState(conversation: string, storage: Storage = sessionStorage): Stored | null {
  try {
    const v = JSON.parse(storage.getItem(KEY + conversation) ?? "null") as Stored | null;
    return v && typeof v.epoch === "number" ? v : null;
  } catch {
    return null;
  }
}

let running: Capture | null = null;

/** Starts co-browsing on this page (one capture at a time per page). */
export function startCapture(opts: CaptureOptions): CaptureSession {
  if (running) throw new Error("lotse cobrowse: capture already running");
  running = new Capture(opts);
  return running;
}

interface Pending {
  seq: number;
  frame: Uint8Array;
}

class Capture implements CaptureSession {
  readonly epoch: number;
  private readonly masker: Masker;
  private readonly overlay: Overlay;
  private readonly storage: Storage;
  private readonly batchMs: number;
  private send: Send | null;
  private maxMsg: number;
  private seq = 0;
  private chunkId = 0;
  private batch: RREvent[] = [];
  private batchTimer = 0;
  private snap: RREvent[] | null = null;
  private chain: Promise<void> = Promise.resolve();
  private unacked: Pending[] = [];
  private unackedBytes = 0;
  private resnap = false;
  private granted: string | null;
  private stopRecord: (() => void) | undefined;
  private stopped = false;
  private pendingControl: Uint8Array[] = [];
  private readonly reasm = new Reassembler(1 << 20);
  private readonly st: CaptureState;
  private readonly counters: CaptureStats = { frames: 0, bytes: 0, events: 0, rawBytes: 0, snapshots: 0, snapshotRawBytes: 0, snapshotBytes: 0 };
  private readonly mirror: NodeMirror;

  constructor(private readonly opts: CaptureOptions) {
    this.masker = new Masker(opts.rules);
    this.storage = opts.storage ?? sessionStorage;
    this.batchMs = opts.batchMs ?? 40;
    this.send = opts.send ?? null;
    this.maxMsg = opts.maxMessageBytes ?? DATA_CHANNEL_MESSAGE_BYTES;
    const prev = resumeState(opts.conversation, this.storage);
    // Epochs only grow within a tab, and are time-based across tabs.
    this.epoch = Math.max(Date.now(), (prev?.epoch ?? 0) + 1);
    this.granted = prev?.granted ?? null;
    this.st = { viewers: [], control: "none", controlParticipant: "", granted: this.granted };
    this.save();
    const name = opts.displayName ?? ((p: string) => p);
    this.overlay = new Overlay(
      {
        onStop: () => {
          this.stop();
          opts.onStop?.();
        },
        onGrant: (p) => this.grantControl(p),
        onDeny: (p) => this.denyControl(p),
        onRevoke: () => this.revokeControl(),
      },
      name,
      opts.lang ?? (navigator.language.toLowerCase().startsWith("de") ? "de" : "en"),
      opts.ui ?? true,
    );
    this.mirror = record.mirror as unknown as NodeMirror;
    this.stopRecord = record({
      emit: (e) => this.onEvent(e as unknown as RREvent),
      blockSelector: this.masker.blockSelector,
      maskTextSelector: this.masker.maskTextSelector,
      maskTextClass: "lotse-mask-text",
      blockClass: "lotse-block",
      // Every field's value passes through maskInput, which decides.
      maskInputOptions: {
        input: true, textarea: true, select: true, password: true, text: true, email: true, tel: true,
        number: true, search: true, url: true, date: true, "datetime-local": true, month: true, week: true,
        time: true, color: true, range: true, hidden: true,
      } as Record<string, boolean>,
      maskInputFn: this.masker.maskInput,
      maskTextFn: this.masker.maskText,
      slimDOMOptions: {
        script: true, comment: true, headFavicon: false, headWhitespace: true, headMetaSocial: true,
        headMetaRobots: true, headMetaHttpEquiv: true, headMetaAuthorship: true, headMetaVerification: true,
        headMetaDescKeywords: true,
      },
      // Live use: pointer positions at ~33 Hz, sent at least every 30 ms
      // (rrweb's default batches them for 500 ms).
      sampling: { mousemove: 30, mousemoveCallback: 30, scroll: 50, media: 800, input: "all", mouseInteraction: true } as never,
      recordCanvas: false,
      collectFonts: false,
      inlineImages: false,
      inlineStylesheet: true,
      recordCrossOriginIframes: false,
      recordAfter: "DOMContentLoaded",
    });
    running = this;
  }

  private save(): void {
    try {
      this.storage.setItem(KEY + this.opts.conversation, JSON.stringify({ epoch: this.epoch, granted: this.granted } satisfies Stored));
    } catch {
      // Storage full or denied: the next page starts afresh, which is safe.
    }
  }

  private onEvent(e: RREvent): void {
    if (this.stopped) return;
    if (e.type !== EventType.FullSnapshot && e.type !== EventType.IncrementalSnapshot && e.type !== EventType.Meta) return;
    if (e.type === EventType.IncrementalSnapshot) {
      const src = e.data.source;
      if (src === Source.CanvasMutation || src === Source.Font || src === Source.Log) return;
    }
    scrubEvent(e, this.mirror, this.masker);
    this.opts.tap?.(e);
    if (e.type === EventType.Meta) {
      // A snapshot begins: what is batched goes first, then the snapshot
      // with everything rrweb emits in the same task (adopted sheets).
      this.flush();
      this.snap = [e];
      queueMicrotask(() => this.closeSnapshot());
      return;
    }
    if (this.snap) {
      this.snap.push(e);
      return;
    }
    this.batch.push(e);
    if (this.batch.length >= 500) this.flush();
    else if (!this.batchTimer) this.batchTimer = window.setTimeout(() => this.flush(), this.batchMs);
  }

  private closeSnapshot(): void {
    const s = this.snap;
    this.snap = null;
    if (!s || s.length < 2) return;
    this.enqueue("snap", s);
  }

  private flush(): void {
    if (this.batchTimer) window.clearTimeout(this.batchTimer);
    this.batchTimer = 0;
    if (this.batch.length === 0) return;
    const b = this.batch;
    this.batch = [];
    this.enqueue("ev", b);
  }

  private enqueue(kind: "snap" | "ev", events: RREvent[]): void {
    const seq = ++this.seq;
    // Serialise now: rrweb may reuse objects later.
    const json = new TextEncoder().encode(JSON.stringify(events));
    this.counters.events += events.length;
    this.counters.rawBytes += json.length;
    if (kind === "snap") {
      this.counters.snapshots++;
      this.counters.snapshotRawBytes += json.length;
    }
    this.chain = this.chain
      .then(async () => {
        const z = canDeflate();
        const payload = z ? await deflateRaw(json) : json;
        if (this.stopped) return;
        const frame = encodeFrame(z ? { t: kind, e: this.epoch, s: seq, z: true } : { t: kind, e: this.epoch, s: seq }, payload);
        if (kind === "snap") this.counters.snapshotBytes += frame.length;
        this.unacked.push({ seq, frame });
        this.unackedBytes += frame.length;
        if (this.unackedBytes > MAX_UNACKED_BYTES) {
          // The server has not acked for long: a snapshot replaces all.
          this.unacked = [];
          this.unackedBytes = 0;
          this.resnap = true;
        }
        this.transmit(frame);
      })
      .catch(() => {
        this.resnap = true;
      });
  }

  private transmit(frame: Uint8Array): boolean {
    if (!this.send) return false;
    for (const f of splitFrame(frame, this.maxMsg, ++this.chunkId)) {
      if (!this.send(f)) return false;
      this.counters.frames++;
      this.counters.bytes += f.length;
    }
    return true;
  }

  setTransport(send: Send | null, maxMessageBytes?: number): void {
    this.send = send;
    if (maxMessageBytes) this.maxMsg = maxMessageBytes;
    if (!send || this.stopped) return;
    for (const f of this.pendingControl.splice(0)) send(f);
    if (this.resnap) {
      this.resnap = false;
      this.takeSnapshot();
      return;
    }
    for (const p of this.unacked) if (!this.transmit(p.frame)) return;
  }

  private takeSnapshot(): void {
    if (this.stopped) return;
    try {
      record.takeFullSnapshot(true);
    } catch {
      // Not recording yet: the first snapshot is still to come.
    }
  }

  receive(frame: Uint8Array): void {
    let f = decodeFrame(frame);
    if (!f) return;
    if (f.header.t === "chunk") {
      const whole = this.reasm.add(f.header as ChunkHeader, f.payload);
      if (!whole) return;
      f = decodeFrame(whole);
      if (!f) return;
    }
    this.handle(f.header);
  }

  private handle(h: Header): void {
    switch (h.t) {
      case "ack":
        if (h.e !== this.epoch) return;
        while (this.unacked.length && (this.unacked[0]?.seq ?? Infinity) <= h.s) {
          this.unackedBytes -= this.unacked.shift()?.frame.length ?? 0;
        }
        return;
      case "need":
        this.takeSnapshot();
        return;
      case "ptr":
        this.overlay.pointer(h.p ?? "", h.x, h.y, h.h ?? false);
        return;
      case "hl":
        this.overlay.highlight(h.p ?? "", h.x, h.y, h.w, h.h);
        return;
      case "viewers":
        this.st.viewers = h.ps.slice();
        this.overlay.setViewers(h.ps);
        this.emitState();
        return;
      case "ctlstate":
        this.onControlState(h.st, h.p ?? "");
        return;
      case "act":
        this.onAction(h);
        return;
    }
  }

  private onControlState(state: string, who: string): void {
    if (state === "granted" && this.granted !== who) {
      // The server thinks control is granted, but not by this page (it
      // was revoked, or a new tab): the customer's word wins.
      this.control("revoke", "");
      state = "none";
      who = "";
    }
    if (state === "none" && this.granted) {
      this.granted = null;
      this.save();
    }
    this.st.control = state;
    this.st.controlParticipant = who;
    this.st.granted = this.granted;
    this.overlay.setControl(state, who, this.granted === who && state === "granted");
    this.emitState();
  }

  private onAction(a: ActionHeader): void {
    let out: { ok: boolean; err?: string };
    if (!this.granted || a.p !== this.granted || this.st.control !== "granted") {
      out = { ok: false, err: "not_granted" };
    } else {
      try {
        out = perform(a, this.mirror, this.masker);
      } catch {
        out = { ok: false, err: "unsupported" };
      }
    }
    const res = out.err !== undefined ? { t: "res" as const, a: a.a, ok: out.ok, err: out.err, p: a.p ?? "" } : { t: "res" as const, a: a.a, ok: out.ok, p: a.p ?? "" };
    this.sendControl(encodeFrame(res));
  }

  private emitState(): void {
    this.opts.onState?.({ ...this.st, viewers: this.st.viewers.slice() });
  }

  private sendControl(frame: Uint8Array): void {
    // Kept for the next transport, a few at most (the latest decisions).
    if (!this.send || !this.send(frame)) this.pendingControl = [...this.pendingControl, frame].slice(-16);
  }

  private control(op: "grant" | "deny" | "revoke", p: string): void {
    this.sendControl(encodeFrame(p ? { t: "ctl", op, p } : { t: "ctl", op }));
  }

  grantControl(participant: string): void {
    this.granted = participant;
    this.save();
    this.control("grant", participant);
  }

  denyControl(participant: string): void {
    this.control("deny", participant);
  }

  revokeControl(): void {
    this.granted = null;
    this.save();
    this.control("revoke", "");
    this.overlay.setControl("none", "", false);
  }

  stop(): void {
    if (this.stopped) return;
    this.flush();
    this.stopped = true;
    this.stopRecord?.();
    this.overlay.destroy();
    this.granted = null;
    try {
      this.storage.removeItem(KEY + this.opts.conversation);
    } catch {
      // Nothing to clean.
    }
    this.send?.(encodeFrame({ t: "bye", r: "stopped" }));
    if (running === this) running = null;
  }

  stats(): CaptureStats {
    return { ...this.counters };
  }

  debugShadowRoot(): ShadowRoot {
    return this.overlay.shadow;
  }
}
