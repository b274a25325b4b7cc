// The customer widget: the UI a customer sees on the bank's page (or on
// Lotse's landing page) — enter a code or follow a link, give name and
// consent, wait to be admitted, then talk with the advisor. It lives in a
// closed shadow root: the bank's CSS cannot break it and ours cannot touch
// the bank's page.
import { api, ApiError, type JoinResponse, type MaskingRules, type Participant, type ServerMessage } from "../protocol";
import { type CaptureSession, DATA_CHANNEL_MESSAGE_BYTES, startCapture, WEBSOCKET_MESSAGE_BYTES } from "../cobrowse";
import { errorText, t, type Lang, type TextKey } from "../i18n";
import { SignalClient } from "../signal";
import { h, hhmm } from "./dom";
import { widgetCSS } from "./styles";
import { VideoWindow } from "./video";

export interface WidgetOptions {
  /** Lotse's origin, e.g. https://lotse.example-bank.de. */
  apiBase: string;
  /** A share-link token, or nothing to ask for a code. */
  token?: string;
  lang: Lang;
  /** "overlay" floats over the bank's page; "page" fills Lotse's landing page. */
  mode: "overlay" | "page";
  /** Where the host element goes (default: document.body). */
  parent?: HTMLElement;
  /** A session stored by a previous page of this tab, to continue. */
  resume?: StoredSession;
  /** The bank's public SDK key: codes then only match this bank's conversations. */
  siteKey?: string;
}

/** What a page leaves the next page of the same tab (sessionStorage). */
export interface StoredSession {
  v: 1;
  apiBase: string;
  conversation: string;
  rejoin: string;
}

const SESSION_KEY = "lotse.session";

/** Reads the session a previous page of this tab left, if any. */
export function storedSession(apiBase: string): StoredSession | null {
  try {
    const s = JSON.parse(sessionStorage.getItem(SESSION_KEY) ?? "null") as StoredSession | null;
    return s && s.v === 1 && s.apiBase === apiBase && typeof s.rejoin === "string" ? s : null;
  } catch {
    return null;
  }
}

function forgetSession(): void {
  try {
    sessionStorage.removeItem(SESSION_KEY);
  } catch {
    /* storage may be unavailable */
  }
}

type View = "code" | "consent" | "joining" | "waiting" | "session" | "ended";

/** The customer widget. */
export class Widget {
  private host: HTMLElement;
  private root: HTMLElement;
  private body: HTMLElement;
  private lang: Lang;
  private view: View = "consent";
  private client: SignalClient | null = null;
  private self: Participant | null = null;
  private participants = new Map<string, Participant>();
  private chatBox: HTMLElement | null = null;
  private typingBox: HTMLElement | null = null;
  private statusBox: HTMLElement | null = null;
  private typingTimer: number | undefined;
  private sentTyping = false;
  private code = "";
  private capture: CaptureSession | null = null;
  private masking: MaskingRules | undefined;
  private shareConsent = false;
  private conversation = "";
  private video: VideoWindow | null = null;
  private cameraConsent = false;
  private micConsent = false;
  private dc: RTCDataChannel | null = null;
  private videoStarted = false;
  /** Hooks for the media and co-browse parts of the SDK. */
  readonly onMessage = new Set<(m: ServerMessage) => void>();

  constructor(private readonly opts: WidgetOptions) {
    this.lang = opts.lang;
    this.host = document.createElement("div");
    this.host.setAttribute("data-lotse", "widget");
    const shadow = this.host.attachShadow({ mode: "closed" });
    // A constructed style sheet, not a <style> element: a bank's CSP
    // (style-src 'self') blocks inline <style> but not the CSSOM.
    const sheet = new CSSStyleSheet();
    sheet.replaceSync(widgetCSS);
    shadow.adoptedStyleSheets = [sheet];
    this.root = h("div", { class: "root" + (opts.mode === "page" ? " page" : ""), role: "dialog", "aria-label": t(this.lang, "title") });
    this.body = h("div", { class: "body" });
    const minBtn = h("button", { type: "button", "aria-label": t(this.lang, "minimise"), onclick: () => this.toggleMin(minBtn) }, "–");
    const bar = h("div", { class: "bar" }, h("h2", {}, t(this.lang, "title")), opts.mode === "overlay" ? minBtn : null);
    this.root.append(bar, this.body);
    shadow.append(this.root);
    if (opts.mode === "overlay") this.makeDraggable(bar);
    (opts.parent ?? document.body).append(this.host);
    if (opts.resume) {
      void this.rejoin(opts.resume);
      return;
    }
    this.render(opts.token ? "consent" : "code");
  }

  /** Continues a session after the customer moved to another page. */
  private async rejoin(s: StoredSession): Promise<void> {
    this.render("joining");
    try {
      const res = await api<JoinResponse>(this.opts.apiBase, "POST", "/api/v1/rejoin", { rejoin_token: s.rejoin });
      await this.connect(res);
    } catch {
      forgetSession();
      this.destroy();
    }
  }

  /** The element of the shadow root's host (for tests and removal). */
  get element(): HTMLElement {
    return this.host;
  }

  private toggleMin(btn: HTMLButtonElement): void {
    const min = this.root.classList.toggle("min");
    btn.textContent = min ? "+" : "–";
    btn.setAttribute("aria-label", t(this.lang, min ? "restore" : "minimise"));
  }

  private makeDraggable(bar: HTMLElement): void {
    let dx = 0;
    let dy = 0;
    bar.addEventListener("pointerdown", (e) => {
      if ((e.target as HTMLElement).closest("button")) return;
      const r = this.root.getBoundingClientRect();
      dx = e.clientX - r.left;
      dy = e.clientY - r.top;
      bar.setPointerCapture(e.pointerId);
    });
    bar.addEventListener("pointermove", (e) => {
      if (!bar.hasPointerCapture(e.pointerId)) return;
      const x = Math.min(Math.max(0, e.clientX - dx), window.innerWidth - 80);
      const y = Math.min(Math.max(0, e.clientY - dy), window.innerHeight - 40);
      Object.assign(this.root.style, { left: x + "px", top: y + "px", right: "auto", bottom: "auto" });
    });
  }

  private tx(key: TextKey): string {
    return t(this.lang, key);
  }

  private showError(code: string): void {
    this.body.querySelector(".error")?.remove();
    const box = h("p", { class: "error", role: "alert" }, errorText(this.lang, code));
    this.body.prepend(box);
  }

  private render(view: View): void {
    this.view = view;
    this.body.replaceChildren();
    this.chatBox = this.typingBox = this.statusBox = null;
    switch (view) {
      case "code":
        return this.renderCode();
      case "consent":
        return this.renderConsent();
      case "joining":
        this.body.append(h("p", { class: "status", role: "status" }, "…"));
        return;
      case "waiting":
        this.body.append(h("p", { class: "status", role: "status", "data-state": "waiting" }, this.tx("waiting")));
        this.addLeave();
        return;
      case "session":
        return this.renderSession();
      case "ended":
        return;
    }
  }

  private renderCode(): void {
    const input = h("input", { type: "text", inputmode: "numeric", autocomplete: "one-time-code", pattern: "[0-9]{6}", maxlength: 6, required: true, name: "code" });
    const form = h("form", { novalidate: true }, h("p", {}, this.tx("code_intro")), h("label", {}, this.tx("code"), input), h("button", { class: "primary", type: "submit" }, this.tx("continue")));
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      const code = input.value.replace(/\s/g, "");
      if (!/^[0-9]{6}$/.test(code)) return this.showError("code_invalid");
      this.code = code;
      this.render("consent");
    });
    this.body.append(form);
    input.focus();
  }

  private renderConsent(): void {
    const name = h("input", { type: "text", name: "display_name", autocomplete: "name", maxlength: 80, required: true });
    const box = (key: TextKey, n: string, checked: boolean) => {
      const cb = h("input", { type: "checkbox", name: n, checked });
      return { cb, label: h("label", { class: "check" }, cb, h("span", {}, this.tx(key))) };
    };
    const cam = box("share_camera", "camera", true);
    const mic = box("share_microphone", "microphone", true);
    const page = box("share_page", "cobrowse", this.opts.mode === "overlay");
    const terms = box("consent_terms", "terms", false);
    const submit = h("button", { class: "primary", type: "submit" }, this.tx("join"));
    const form = h("form", { novalidate: true }, h("p", {}, this.tx("join_intro")), h("label", {}, this.tx("your_name"), name),
      cam.label, mic.label, this.opts.mode === "overlay" ? page.label : null, terms.label, submit);
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      if (!name.value.trim()) return this.showError("invalid_name");
      if (!terms.cb.checked) return this.showError("consent_required");
      submit.disabled = true;
      const consent = { camera: cam.cb.checked, microphone: mic.cb.checked, cobrowse: this.opts.mode === "overlay" && page.cb.checked, terms: true };
      try {
        const res = await api<JoinResponse>(this.opts.apiBase, "POST", "/api/v1/join", {
          ...(this.opts.token ? { token: this.opts.token } : { code: this.code, ...(this.opts.siteKey ? { site_key: this.opts.siteKey } : {}) }),
          display_name: name.value.trim(),
          consent,
        });
        await this.connect(res);
      } catch (err) {
        submit.disabled = false;
        const code = err instanceof ApiError ? err.code : "generic";
        if (code === "code_invalid" && !this.opts.token) {
          this.render("code");
        }
        this.showError(code);
      }
    });
    this.body.append(form);
    name.focus();
  }

  private async connect(res: JoinResponse): Promise<void> {
    this.render("joining");
    this.conversation = res.conversation_id;
    this.masking = res.masking;
    this.shareConsent = !!res.consent?.cobrowse && this.opts.mode === "overlay";
    this.cameraConsent = !!res.consent?.camera;
    this.micConsent = !!res.consent?.microphone;
    if (res.rejoin_token) {
      const s: StoredSession = { v: 1, apiBase: this.opts.apiBase, conversation: res.conversation_id, rejoin: res.rejoin_token };
      try {
        sessionStorage.setItem(SESSION_KEY, JSON.stringify(s));
      } catch {
        /* private mode: the session then ends with this page */
      }
    }
    // A fresh join token for reconnects after the first one expired.
    const refresh = async () => {
      const s = storedSession(this.opts.apiBase);
      if (!s) throw new Error("no session");
      return (await api<JoinResponse>(this.opts.apiBase, "POST", "/api/v1/rejoin", { rejoin_token: s.rejoin })).join_token;
    };
    const client = new SignalClient(res.signal_url, res.join_token, refresh);
    this.client = client;
    client.on((m) => this.handle(m));
    client.onBinary((f) => this.capture?.receive(f));
    client.onState((s, detail) => this.connState(s, detail));
    const joined = await client.start();
    this.video = new VideoWindow({
      lang: this.lang, client, iceServers: joined.ice_servers, icePolicy: joined.ice_transport_policy === "relay" ? "relay" : "all",
      camera: this.cameraConsent, microphone: this.micConsent,
      onDataChannel: (dc) => this.useDataChannel(dc),
      onNotice: (text) => this.setStatus(text),
    });
    this.self = joined.self;
    for (const p of joined.participants) this.participants.set(p.id, p);
    this.render(joined.self.state === "admitted" ? "session" : "waiting");
    for (const m of joined.chat) this.addChat(m.from, m.name, m.text, m.at);
  }

  /** Moves co-browsing to the data channel when it opens, back to the WebSocket when it closes. */
  private useDataChannel(dc: RTCDataChannel | null): void {
    this.dc = dc;
    const client = this.client;
    if (dc) {
      dc.onmessage = (e) => {
        if (e.data instanceof ArrayBuffer) this.capture?.receive(new Uint8Array(e.data));
      };
    }
    if (!this.capture || !client) return;
    if (dc && dc.readyState === "open") {
      this.capture.setTransport((f) => {
        if (dc.readyState !== "open" || dc.bufferedAmount > 1 << 20) return false;
        dc.send(f as Uint8Array<ArrayBuffer>);
        return true;
      }, DATA_CHANNEL_MESSAGE_BYTES);
    } else {
      this.capture.setTransport((f) => client.sendBinary(f), WEBSOCKET_MESSAGE_BYTES);
    }
  }

  /** Starts co-browsing once admitted, if the customer consented to it. */
  private startSharing(): void {
    if (!this.shareConsent || this.capture || !this.client) return;
    const client = this.client;
    const send = (f: Uint8Array) => client.sendBinary(f);
    try {
      this.capture = startCapture({
        conversation: this.conversation,
        send,
        maxMessageBytes: WEBSOCKET_MESSAGE_BYTES,
        rules: { mask: this.masking?.mask ?? [], maskText: this.masking?.mask_text ?? [], block: this.masking?.block ?? [] },
        lang: this.lang,
        displayName: (id) => this.participants.get(id)?.name ?? "",
        onStop: () => {
          this.setStatus("");
          this.capture = null;
          this.shareConsent = false;
          const consent = { camera: true, microphone: true, cobrowse: false, terms: true };
          client.send({ type: "update_consent", consent });
        },
      });
    } catch {
      this.capture = null; // an invalid tenant rule stops sharing, not the session
    }
    if (this.dc) this.useDataChannel(this.dc);
  }

  private connState(s: string, detail?: string): void {
    if (this.view !== "session" && this.view !== "waiting") return;
    if (s === "reconnecting") {
      this.setStatus(this.tx("reconnecting"));
    } else if (s === "open") {
      this.setStatus("");
      const client = this.client;
      if (client) this.capture?.setTransport((f) => client.sendBinary(f), WEBSOCKET_MESSAGE_BYTES);
    } else if (s === "closed" && detail !== "1000") {
      this.finish("err_network");
    }
  }

  private setStatus(text: string): void {
    if (!this.statusBox) return;
    this.statusBox.textContent = text;
    this.statusBox.hidden = text === "";
  }

  private handle(m: ServerMessage): void {
    for (const l of this.onMessage) l(m);
    switch (m.type) {
      case "joined":
        // Not resumed: a new SFU peer waits for a new PeerConnection.
        if (!m.resumed) this.video?.restart(m.ice_servers);
        return;
      case "media":
        this.video?.handle(m);
        return;
      case "ice_servers":
        this.video?.session.refreshICE(m.ice_servers);
        return;
      case "participant_joined":
      case "participant_updated": {
        this.participants.set(m.participant.id, m.participant);
        if (this.self && m.participant.id === this.self.id) {
          const wasWaiting = this.self.state === "waiting";
          this.self = m.participant;
          if (wasWaiting && m.participant.state === "admitted") this.render("session");
        }
        return;
      }
      case "participant_left": {
        const p = this.participants.get(m.participant_id);
        this.participants.delete(m.participant_id);
        if (this.self && m.participant_id === this.self.id) {
          this.finish(m.reason === "removed" ? "removed" : "left");
        } else if (p?.role === "advisor" && ![...this.participants.values()].some((x) => x.role === "advisor")) {
          this.setStatus(this.tx("advisor_left"));
        }
        return;
      }
      case "chat_delivered":
        return this.addChat(m.message.from, m.message.name, m.message.text, m.message.at);
      case "typing_update": {
        if (!this.typingBox) return;
        const who = this.participants.get(m.participant_id)?.name ?? "";
        this.typingBox.textContent = m.active ? `${who} ${this.tx("typing")}` : "";
        return;
      }
      case "conversation_ended":
        return this.finish("ended");
    }
  }

  private finish(key: TextKey): void {
    this.capture?.stop();
    this.capture = null;
    this.video?.close();
    this.video = null;
    forgetSession();
    this.client?.stop();
    this.client = null;
    this.render("ended");
    this.body.append(h("p", { class: key.startsWith("err_") ? "error" : "status", role: "status", "data-state": "ended" }, this.tx(key)));
  }

  private addLeave(): void {
    this.body.append(
      h("div", { class: "row" }, h("button", { class: "secondary", type: "button", onclick: () => { this.client?.send({ type: "leave" }); this.finish("left"); } }, this.tx("leave"))),
    );
  }

  private renderSession(): void {
    this.statusBox = h("p", { class: "status", role: "status", hidden: true });
    this.chatBox = h("div", { class: "chat", role: "log", "aria-live": "polite", "aria-label": this.tx("chat") });
    this.typingBox = h("div", { class: "typing", "aria-live": "polite" });
    const input = h("input", { type: "text", name: "message", maxlength: 4000, "aria-label": this.tx("message"), autocomplete: "off" });
    const form = h("form", { class: "composer" }, input, h("button", { class: "primary", type: "submit" }, this.tx("send")));
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      const text = input.value.trim();
      if (!text || !this.client) return;
      this.client.send({ type: "chat", text });
      input.value = "";
      this.stopTyping();
    });
    input.addEventListener("input", () => {
      if (!this.sentTyping) {
        this.client?.send({ type: "typing", active: true });
        this.sentTyping = true;
      }
      window.clearTimeout(this.typingTimer);
      this.typingTimer = window.setTimeout(() => this.stopTyping(), 3000);
    });
    this.body.append(this.statusBox, this.video?.el ?? "", h("p", { class: "status", "data-state": "admitted" }, this.tx("admitted")),
      this.chatBox, this.typingBox, form);
    this.addLeave();
    input.focus();
    this.startSharing();
    if (this.video && !this.videoStarted) {
      this.videoStarted = true;
      void this.video.start();
    }
  }

  private stopTyping(): void {
    if (this.sentTyping) this.client?.send({ type: "typing", active: false });
    this.sentTyping = false;
  }

  private addChat(from: string, name: string, text: string, at: string): void {
    if (!this.chatBox) return;
    const mine = this.self?.id === from;
    this.chatBox.append(h("div", { class: "msg" + (mine ? " mine" : "") }, h("span", { class: "who" }, `${name} · ${hhmm(at, this.lang)}`), text));
    this.chatBox.scrollTop = this.chatBox.scrollHeight;
  }

  /** Removes the widget from the page. */
  destroy(): void {
    this.capture?.stop();
    this.capture = null;
    this.video?.close();
    this.video = null;
    this.client?.stop();
    this.host.remove();
  }
}
