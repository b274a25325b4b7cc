// What the customer sees of co-browsing on the bank's page: the advisor's
// pointer and highlights, the indicator with "Stop", and the control
// prompt. All of it lives in one closed shadow root on an element of our
// own, so the bank's CSS cannot reach it and ours cannot reach the bank's
// page; styles come from a constructed style sheet (allowed under strict
// CSPs that forbid inline styles). rrweb never records it (UI_ATTR is in
// the block selector).
import { UI_ATTR } from "./mask";

export type Lang = "de" | "en";

const TEXT = {
  de: {
    sharing: "Co-Browsing aktiv",
    watching: (n: string) => `${n} sieht Ihre Seite`,
    nobody: "Niemand sieht zu",
    stop: "Beenden",
    request: (n: string) => `${n} möchte Ihre Seite steuern (klicken und tippen). Masken-Felder bleiben gesperrt.`,
    allow: "Erlauben",
    deny: "Ablehnen",
    controlling: (n: string) => `${n} steuert Ihre Seite`,
    revoke: "Steuerung beenden",
  },
  en: {
    sharing: "Co-browsing on",
    watching: (n: string) => `${n} can see your page`,
    nobody: "Nobody is watching",
    stop: "Stop",
    request: (n: string) => `${n} asks to control your page (click and type). Masked fields stay locked.`,
    allow: "Allow",
    deny: "Deny",
    controlling: (n: string) => `${n} is controlling your page`,
    revoke: "Stop control",
  },
};

const CSS = `
:host { all: initial; }
.ptr { position: fixed; left: 0; top: 0; pointer-events: none; z-index: 2147483647; transition: transform 40ms linear; will-change: transform; }
.ptr svg { display: block; filter: drop-shadow(0 1px 2px rgba(0,0,0,.4)); }
.ptr span { position: absolute; left: 18px; top: 18px; background: #c2185b; color: #fff; font: 12px/1.4 system-ui, sans-serif; padding: 1px 6px; border-radius: 8px; white-space: nowrap; }
.hl { position: fixed; pointer-events: none; z-index: 2147483646; border: 3px solid #c2185b; border-radius: 4px; background: rgba(194,24,91,.08); box-shadow: 0 0 0 4px rgba(194,24,91,.25); transition: opacity .6s; }
.bar { position: fixed; left: 50%; top: 12px; transform: translateX(-50%); z-index: 2147483647; display: flex; flex-direction: column; gap: 8px; align-items: center; font: 14px/1.4 system-ui, sans-serif; color: #1a1a1a; }
.card { background: #fff; border: 1px solid #d0d0d0; border-radius: 10px; box-shadow: 0 4px 16px rgba(0,0,0,.18); padding: 10px 12px; max-width: min(420px, calc(100vw - 32px)); }
.row { display: flex; gap: 8px; align-items: center; }
.dot { width: 10px; height: 10px; border-radius: 50%; background: #d32f2f; flex: none; }
button { font: inherit; border-radius: 6px; border: 1px solid #888; background: #f4f4f4; padding: 4px 10px; cursor: pointer; }
button.primary { background: #0b5cad; border-color: #0b5cad; color: #fff; }
button:focus-visible { outline: 3px solid #ffbf47; outline-offset: 1px; }
[hidden] { display: none !important; }
`;

export interface OverlayCallbacks {
  onStop(): void;
  onGrant(participant: string): void;
  onDeny(participant: string): void;
  onRevoke(): void;
}

interface Pointer {
  el: HTMLDivElement;
  hideTimer: number;
}

/** The customer-side overlay. */
export class Overlay {
  readonly host: HTMLElement;
  private readonly root: ShadowRoot;
  private readonly t: (typeof TEXT)["de"];
  private readonly pointers = new Map<string, Pointer>();
  private readonly highlights = new Map<string, { el: HTMLDivElement; timer: number }>();
  private readonly status: HTMLElement;
  private readonly prompt: HTMLElement;
  private readonly control: HTMLElement;
  private requester = "";

  constructor(
    private readonly cb: OverlayCallbacks,
    private readonly name: (participant: string) => string,
    lang: Lang,
    private readonly showUI: boolean,
  ) {
    this.t = TEXT[lang];
    this.host = document.createElement("lotse-cobrowse");
    this.host.setAttribute(UI_ATTR, "");
    // A zero-size fixed box: its rrweb placeholder (it is blocked) takes no
    // room, and fixed children are laid out against the viewport.
    for (const [k, v] of [["position", "fixed"], ["top", "0"], ["left", "0"], ["width", "0"], ["height", "0"], ["overflow", "visible"], ["z-index", "2147483647"], ["display", "block"]] as const) {
      this.host.style.setProperty(k, v, "important");
    }
    this.root = this.host.attachShadow({ mode: "closed" });
    const sheet = new CSSStyleSheet();
    sheet.replaceSync(CSS);
    this.root.adoptedStyleSheets = [sheet];
    const bar = this.el("div", "bar");
    this.prompt = this.el("div", "card");
    this.prompt.hidden = true;
    this.prompt.setAttribute("role", "alertdialog");
    this.control = this.el("div", "card");
    this.control.hidden = true;
    this.status = this.el("div", "card");
    bar.append(this.prompt, this.control, this.status);
    if (!showUI) bar.hidden = true;
    this.root.append(bar);
    this.setViewers([]);
    document.documentElement.append(this.host);
  }

  /** The shadow root (tests reach the buttons through the session's debug hook). */
  get shadow(): ShadowRoot {
    return this.root;
  }

  private el<K extends keyof HTMLElementTagNameMap>(tag: K, cls: string, text?: string): HTMLElementTagNameMap[K] {
    const e = document.createElement(tag);
    e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }

  /** A button that acts only on a real user's click, never a script's. */
  private button(label: string, cls: string, act: string, fn: () => void): HTMLButtonElement {
    const b = this.el("button", cls, label);
    b.type = "button";
    b.dataset.act = act;
    b.addEventListener("click", (e) => {
      if (e.isTrusted) fn();
    });
    return b;
  }

  setViewers(ps: readonly string[]): void {
    const row = this.el("div", "row");
    const names = ps.map(this.name).join(", ");
    row.append(this.el("span", "dot"), this.el("span", "", `${this.t.sharing} · ${ps.length ? this.t.watching(names) : this.t.nobody}`));
    row.append(this.button(this.t.stop, "", "stop", () => this.cb.onStop()));
    this.status.replaceChildren(row);
  }

  /** Shows the control state: a prompt for a request, a bar while granted. */
  setControl(state: string, who: string, granted: boolean): void {
    this.prompt.hidden = true;
    this.control.hidden = true;
    if (state === "requested" && who) {
      this.requester = who;
      const row = this.el("div", "row");
      row.append(
        this.button(this.t.allow, "primary", "grant", () => this.cb.onGrant(this.requester)),
        this.button(this.t.deny, "", "deny", () => this.cb.onDeny(this.requester)),
      );
      this.prompt.replaceChildren(this.el("p", "", this.t.request(this.name(who))), row);
      this.prompt.hidden = !this.showUI;
    } else if (state === "granted" && granted) {
      const row = this.el("div", "row");
      row.append(this.el("span", "", this.t.controlling(this.name(who))), this.button(this.t.revoke, "primary", "revoke", () => this.cb.onRevoke()));
      this.control.replaceChildren(row);
      this.control.hidden = !this.showUI;
    }
  }

  pointer(p: string, x: number, y: number, hidden: boolean): void {
    let ptr = this.pointers.get(p);
    if (!ptr) {
      const el = this.el("div", "ptr");
      el.dataset.participant = p;
      const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
      svg.setAttribute("width", "22");
      svg.setAttribute("height", "22");
      svg.setAttribute("viewBox", "0 0 22 22");
      const path = document.createElementNS("http://www.w3.org/2000/svg", "path");
      path.setAttribute("d", "M2 2 L2 18 L7 13 L11 21 L14 19.5 L10 12 L17 12 Z");
      path.setAttribute("fill", "#c2185b");
      path.setAttribute("stroke", "#fff");
      path.setAttribute("stroke-width", "1.5");
      svg.append(path);
      el.append(svg, this.el("span", "", this.name(p)));
      this.root.append(el);
      ptr = { el, hideTimer: 0 };
      this.pointers.set(p, ptr);
    }
    ptr.el.hidden = hidden;
    ptr.el.style.transform = `translate(${Math.round(x)}px, ${Math.round(y)}px)`;
    window.clearTimeout(ptr.hideTimer);
    // A pointer that stops moving fades after a while.
    ptr.hideTimer = window.setTimeout(() => {
      if (ptr) ptr.el.hidden = true;
    }, 10_000);
  }

  highlight(p: string, x: number, y: number, w: number, h: number): void {
    const old = this.highlights.get(p);
    if (old) {
      old.el.remove();
      window.clearTimeout(old.timer);
      this.highlights.delete(p);
    }
    if (w <= 0 || h <= 0) return;
    const el = this.el("div", "hl");
    el.dataset.participant = p;
    el.style.left = `${x}px`;
    el.style.top = `${y}px`;
    el.style.width = `${w}px`;
    el.style.height = `${h}px`;
    this.root.append(el);
    const timer = window.setTimeout(() => {
      el.style.opacity = "0";
      window.setTimeout(() => el.remove(), 700);
      this.highlights.delete(p);
    }, 6000);
    this.highlights.set(p, { el, timer });
  }

  destroy(): void {
    for (const p of this.pointers.values()) window.clearTimeout(p.hideTimer);
    for (const h of this.highlights.values()) window.clearTimeout(h.timer);
    this.host.remove();
  }
}
