// SignalClient speaks Lotse's WebSocket signalling protocol
// (docs/protocol.md): it joins with a join token, numbers nothing itself but
// remembers the server's sequence numbers, and after a network drop resumes
// the session so that the server replays exactly the missed messages. The
// UI listens for messages and for connection state changes.
import type { ClientMessage, JoinedMsg, ServerMessage } from "./protocol";

export type ConnState = "connecting" | "open" | "reconnecting" | "closed";

type Listener = (m: ServerMessage) => void;
type BinaryListener = (frame: Uint8Array) => void;
type StateListener = (s: ConnState, detail?: string) => void;

/** Close codes after which reconnecting is pointless. */
const FINAL_CLOSE = new Set([1000, 4001, 4401, 4403, 4410, 1008, 1009]);

export class SignalClient {
  private ws: WebSocket | null = null;
  private listeners = new Set<Listener>();
  private binaryListeners = new Set<BinaryListener>();
  private stateListeners = new Set<StateListener>();
  private sessionID = "";
  private resumeToken = "";
  private lastSeq = 0;
  private attempts = 0;
  private stopped = false;
  private nextID = 1;
  private pingTimer: number | undefined;
  private retryTimer: number | undefined;
  joined: JoinedMsg | null = null;
  state: ConnState = "connecting";

  constructor(
    private readonly url: string,
    private token: string,
    /** Called to get a fresh join token when the old one expired. */
    private readonly refreshToken?: () => Promise<string>,
  ) {}

  on(l: Listener): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }

  /** Listens for binary (co-browse) frames. */
  onBinary(l: BinaryListener): () => void {
    this.binaryListeners.add(l);
    return () => this.binaryListeners.delete(l);
  }

  /** Sends a binary (co-browse) frame; false when not connected or backed up. */
  sendBinary(frame: Uint8Array): boolean {
    const ws = this.ws;
    if (!ws || ws.readyState !== WebSocket.OPEN || !this.joined || ws.bufferedAmount > 4 << 20) return false;
    ws.send(frame as Uint8Array<ArrayBuffer>);
    return true;
  }

  onState(l: StateListener): () => void {
    this.stateListeners.add(l);
    return () => this.stateListeners.delete(l);
  }

  private setState(s: ConnState, detail?: string): void {
    this.state = s;
    for (const l of this.stateListeners) l(s, detail);
  }

  /** Connects and joins; resolves with the Joined message. */
  start(): Promise<JoinedMsg> {
    return new Promise((resolve, reject) => {
      let settled = false;
      const off = this.on((m) => {
        if (settled) return;
        if (m.type === "joined") {
          settled = true;
          off();
          resolve(m);
        } else if (m.type === "error" && m.ref === "join") {
          settled = true;
          off();
          reject(new Error(m.code));
        }
      });
      this.connect();
    });
  }

  private connect(): void {
    this.setState(this.sessionID ? "reconnecting" : "connecting");
    const ws = new WebSocket(this.url);
    ws.binaryType = "arraybuffer";
    this.ws = ws;
    ws.onopen = () => {
      const resume = this.sessionID ? { session_id: this.sessionID, resume_token: this.resumeToken, last_seq: this.lastSeq } : undefined;
      ws.send(JSON.stringify({ type: "join", id: "join", token: this.token, ...(resume ? { resume } : {}) }));
    };
    ws.onmessage = (ev) => {
      if (ev.data instanceof ArrayBuffer) {
        const frame = new Uint8Array(ev.data);
        for (const l of this.binaryListeners) l(frame);
        return;
      }
      let m: ServerMessage;
      try {
        m = JSON.parse(String(ev.data)) as ServerMessage;
      } catch {
        return;
      }
      if (m.seq) this.lastSeq = m.seq;
      if (m.type === "joined") {
        this.sessionID = m.session_id;
        this.resumeToken = m.resume_token;
        if (!m.resumed) this.lastSeq = 0;
        this.joined = m;
        this.attempts = 0;
        this.setState("open");
        this.startPing(m.ping_interval_ms);
      }
      for (const l of this.listeners) l(m);
    };
    ws.onclose = (ev) => {
      window.clearInterval(this.pingTimer);
      if (this.ws !== ws) return;
      this.ws = null;
      if (this.stopped || FINAL_CLOSE.has(ev.code)) {
        this.stopped = true;
        this.setState("closed", String(ev.code));
        return;
      }
      this.scheduleReconnect(ev.code === 1012 ? 500 : 0);
    };
  }

  private scheduleReconnect(floor: number): void {
    this.attempts++;
    const delay = Math.max(floor, Math.min(10_000, 250 * 2 ** Math.min(this.attempts, 6))) * (0.75 + Math.random() * 0.5);
    this.setState("reconnecting");
    this.retryTimer = window.setTimeout(async () => {
      if (this.refreshToken && this.attempts > 1) {
        try {
          this.token = await this.refreshToken();
        } catch {
          /* keep the old token; the server will say if it expired */
        }
      }
      if (!this.stopped) this.connect();
    }, delay);
  }

  private startPing(ms: number): void {
    window.clearInterval(this.pingTimer);
    this.pingTimer = window.setInterval(() => this.send({ type: "ping" }), Math.max(5000, ms));
  }

  /** Sends a message; returns its id (for matching errors and acks). */
  send(m: ClientMessage): string {
    const id = m.id ?? "c" + this.nextID++;
    if (this.ws && this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify({ ...m, id }));
    return id;
  }

  /** Ends the connection for good. */
  stop(): void {
    this.stopped = true;
    window.clearTimeout(this.retryTimer);
    window.clearInterval(this.pingTimer);
    this.ws?.close(1000);
    this.setState("closed", "1000");
  }
}
