// The co-browse wire protocol (docs/cobrowse.md). The Go definitions in
// cobrowse/protocol.go are the source of truth; TestTypeScriptAgrees
// checks that every kind and header below matches them field by field.
//
// Frame: 'L' (0x4C), version 1, uint16 big-endian header length H, H
// bytes of JSON header ({"t": kind, ...}), then the payload.

export const PROTOCOL_VERSION = 1;
export const MAX_HEADER_BYTES = 1024;
/** The largest message on a WebRTC data channel. */
export const DATA_CHANNEL_MESSAGE_BYTES = 16384;
/** The largest message on the signalling WebSocket. */
export const WEBSOCKET_MESSAGE_BYTES = 65536;

export const Kind = {
  Snapshot: "snap",
  Events: "ev",
  Chunk: "chunk",
  Ack: "ack",
  NeedSnapshot: "need",
  Pointer: "ptr",
  Highlight: "hl",
  Control: "ctl",
  ControlState: "ctlstate",
  Action: "act",
  Result: "res",
  Hello: "hello",
  Viewers: "viewers",
  Bye: "bye",
} as const;
export type Kind = (typeof Kind)[keyof typeof Kind];

/** go: Snapshot */
export interface SnapshotHeader {
  t: "snap";
  e: number;
  s: number;
  z?: boolean;
}

/** go: Events */
export interface EventsHeader {
  t: "ev";
  e: number;
  s: number;
  z?: boolean;
}

/** go: Chunk */
export interface ChunkHeader {
  t: "chunk";
  c: number;
  i: number;
  n: number;
}

/** go: Ack */
export interface AckHeader {
  t: "ack";
  e: number;
  s: number;
}

/** go: NeedSnapshot */
export interface NeedSnapshotHeader {
  t: "need";
  r?: string;
}

/** go: Pointer */
export interface PointerHeader {
  t: "ptr";
  p?: string;
  x: number;
  y: number;
  h?: boolean;
}

/** go: Highlight */
export interface HighlightHeader {
  t: "hl";
  p?: string;
  x: number;
  y: number;
  w: number;
  h: number;
}

/** go: Control */
export interface ControlHeader {
  t: "ctl";
  op: ControlOp;
  p?: string;
}

/** go: ControlState */
export interface ControlStateHeader {
  t: "ctlstate";
  st: ControlStateName;
  p?: string;
}

/** go: Action */
export interface ActionHeader {
  t: "act";
  a: number;
  k: ActionOp;
  n: number;
  v?: string;
  x?: number;
  y?: number;
  p?: string;
}

/** go: Result */
export interface ResultHeader {
  t: "res";
  a: number;
  ok: boolean;
  err?: string;
  p?: string;
}

/** go: Hello */
export interface HelloHeader {
  t: "hello";
  p: string;
  assets?: string;
  max: number;
}

/** go: Viewers */
export interface ViewersHeader {
  t: "viewers";
  ps: string[];
}

/** go: Bye */
export interface ByeHeader {
  t: "bye";
  r?: string;
}

export type Header =
  | SnapshotHeader
  | EventsHeader
  | ChunkHeader
  | AckHeader
  | NeedSnapshotHeader
  | PointerHeader
  | HighlightHeader
  | ControlHeader
  | ControlStateHeader
  | ActionHeader
  | ResultHeader
  | HelloHeader
  | ViewersHeader
  | ByeHeader;

export const ControlOp = {
  Request: "request",
  Release: "release",
  Grant: "grant",
  Deny: "deny",
  Revoke: "revoke",
} as const;
export type ControlOp = (typeof ControlOp)[keyof typeof ControlOp];

export const ControlStateName = {
  None: "none",
  Requested: "requested",
  Granted: "granted",
} as const;
export type ControlStateName = (typeof ControlStateName)[keyof typeof ControlStateName];

export const ActionOp = {
  Click: "click",
  Type: "type",
  Key: "key",
  Scroll: "scroll",
} as const;
export type ActionOp = (typeof ActionOp)[keyof typeof ActionOp];

export const ErrCode = {
  NotGranted: "not_granted",
  Masked: "masked",
  NotFound: "not_found",
  Unsupported: "unsupported",
} as const;

export const Reason = {
  Gap: "gap",
  Invalid: "invalid",
  Log: "log",
  Viewer: "viewer",
  Epoch: "epoch",
} as const;

/** A decoded frame. */
export interface Frame {
  header: Header;
  payload: Uint8Array;
}

const enc = new TextEncoder();
const dec = new TextDecoder();

/** Builds a frame from a header and an optional payload. */
export function encodeFrame(header: Header, payload?: Uint8Array): Uint8Array {
  const h = enc.encode(JSON.stringify(header));
  if (h.length > MAX_HEADER_BYTES) throw new Error("lotse cobrowse: header too large");
  const p = payload ?? new Uint8Array(0);
  const out = new Uint8Array(4 + h.length + p.length);
  out[0] = 0x4c;
  out[1] = PROTOCOL_VERSION;
  out[2] = h.length >> 8;
  out[3] = h.length & 0xff;
  out.set(h, 4);
  out.set(p, 4 + h.length);
  return out;
}

/** Splits a frame; null when it is not one of ours. */
export function decodeFrame(b: Uint8Array): Frame | null {
  if (b.length < 6 || b[0] !== 0x4c || b[1] !== PROTOCOL_VERSION) return null;
  const hl = ((b[2] ?? 0) << 8) | (b[3] ?? 0);
  if (hl < 2 || hl > MAX_HEADER_BYTES || 4 + hl > b.length) return null;
  let header: unknown;
  try {
    header = JSON.parse(dec.decode(b.subarray(4, 4 + hl)));
  } catch {
    return null;
  }
  if (typeof header !== "object" || header === null || typeof (header as { t?: unknown }).t !== "string") return null;
  return { header: header as Header, payload: b.subarray(4 + hl) };
}

const MAX_CHUNK_HEADER = '{"t":"chunk","c":4294967295,"i":99999999,"n":99999999}'.length;

/** Returns [frame] when it fits in limit bytes, else the chunk frames. */
export function splitFrame(frame: Uint8Array, limit: number, id: number): Uint8Array[] {
  if (frame.length <= limit) return [frame];
  const part = Math.max(256, limit - 4 - MAX_CHUNK_HEADER);
  const n = Math.ceil(frame.length / part);
  const out: Uint8Array[] = [];
  for (let i = 0; i < n; i++) {
    out.push(encodeFrame({ t: "chunk", c: id >>> 0, i, n }, frame.subarray(i * part, Math.min((i + 1) * part, frame.length))));
  }
  return out;
}

/** Joins chunks (in order, one chunked frame at a time per sender). */
export class Reassembler {
  private parts: Uint8Array[] = [];
  private size = 0;
  private id = 0;
  private next = 0;
  private count = 0;
  constructor(private readonly max: number) {}

  /** Returns the whole frame after its last chunk, else null. */
  add(h: ChunkHeader, payload: Uint8Array): Uint8Array | null {
    if (h.n < 2 || h.i < 0 || h.i >= h.n) {
      this.reset();
      return null;
    }
    if (h.i === 0) {
      this.reset();
      this.id = h.c;
      this.count = h.n;
    }
    if (this.count === 0 || h.c !== this.id || h.i !== this.next || h.n !== this.count || this.size + payload.length > this.max) {
      this.reset();
      return null;
    }
    this.parts.push(payload.slice());
    this.size += payload.length;
    this.next++;
    if (this.next < this.count) return null;
    const out = new Uint8Array(this.size);
    let off = 0;
    for (const p of this.parts) {
      out.set(p, off);
      off += p.length;
    }
    this.reset();
    return out;
  }

  reset(): void {
    this.parts = [];
    this.size = 0;
    this.next = 0;
    this.count = 0;
  }
}
