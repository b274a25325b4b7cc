// Rewrites every URL in the events a viewer is about to apply so that the
// advisor's browser fetches the page's assets only through Lotse's asset
// proxy, never from the bank's site: stylesheet and image URLs (attributes,
// srcset, inline styles, style sheets, CSSOM rules) become proxy URLs,
// links and hints that would make the browser fetch or resolve anything
// are neutralised, and event-handler attributes are dropped. What slips
// through still meets the viewer's Content-Security-Policy.
import type { RREvent, SNode } from "./scrub";
import { EventType, Source } from "./scrub";

const enc = new TextEncoder();

/** base64url (unpadded) of a string's UTF-8 bytes. */
export function b64url(s: string): string {
  let bin = "";
  for (const b of enc.encode(s)) bin += String.fromCharCode(b);
  return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

export class Rewriter {
  /** base: the asset proxy prefix from the relay's hello ("" = load nothing). */
  constructor(
    private base: string,
    private page = "about:blank",
  ) {}

  setBase(base: string): void {
    this.base = base;
  }

  setPage(href: string): void {
    this.page = href;
  }

  /** One URL: a proxy URL, a data: URL as it is, or "" (load nothing). */
  url(v: string): string {
    const s = v.trim();
    if (s === "" || s.startsWith("#")) return s;
    if (/^data:/i.test(s)) return /^data:(image|font|application\/font|application\/x-font)/i.test(s) ? s : "";
    let u: URL;
    try {
      u = new URL(s, this.page);
    } catch {
      return "";
    }
    if ((u.protocol !== "http:" && u.protocol !== "https:") || !this.base) return "";
    u.hash = "";
    return this.base + b64url(u.href);
  }

  /** A style sheet's text or a style attribute. */
  css(text: string): string {
    if (!/url\(|@import/i.test(text)) return text;
    return text
      .replace(/url\(\s*(?:"((?:[^"\\]|\\.)*)"|'((?:[^'\\]|\\.)*)'|([^)'"\s]*))\s*\)/gi, (_m, d?: string, s?: string, u?: string) => {
        const raw = (d ?? s ?? u ?? "").replace(/\\(.)/g, "$1");
        const out = this.url(raw);
        return out ? `url("${out}")` : "url(about:invalid)";
      })
      .replace(/@import\s+(["'])(.*?)\1/gi, (_m, _q: string, v: string) => `@import "${this.url(v) || "about:invalid"}"`);
  }

  private srcset(v: string): string {
    return v
      .split(",")
      .map((part) => {
        const [u, ...desc] = part.trim().split(/\s+/);
        const r = u ? this.url(u) : "";
        return r ? [r, ...desc].join(" ") : "";
      })
      .filter(Boolean)
      .join(", ");
  }

  /** Rewrites one attribute of an element with tag; undefined drops it. */
  attr(tag: string, name: string, value: unknown): unknown {
    const n = name.toLowerCase();
    if (n.startsWith("on")) return undefined;
    if (typeof value !== "string") return value;
    if (/^\s*javascript:/i.test(value)) return undefined;
    switch (n) {
      case "src":
        return tag === "iframe" || tag === "frame" || tag === "script" || tag === "embed" || tag === "object" ? undefined : this.url(value);
      case "href":
      case "xlink:href":
        if (tag === "a" || tag === "area") return "#";
        if (tag === "base") return undefined;
        return this.url(value);
      case "srcset":
      case "imagesrcset":
        return this.srcset(value);
      case "poster":
      case "background":
      case "lowsrc":
      case "dynsrc":
      case "data":
      case "codebase":
      case "manifest":
      case "icon":
        return this.url(value);
      case "style":
      case "_csstext":
        return this.css(value);
      case "ping":
      case "action":
      case "formaction":
      case "srcdoc":
      case "http-equiv":
      case "rr_src":
        return undefined;
      case "rel":
        return /(^|\s)(preload|prefetch|preconnect|dns-prefetch|modulepreload|prerender|manifest|import)(\s|$)/i.test(value) ? "lotse-removed" : value;
      case "rr_dataurl":
        return /^data:image\//i.test(value) ? value : undefined;
    }
    return value;
  }

  private attrs(tag: string, attrs: Record<string, unknown>): void {
    for (const k of Object.keys(attrs)) {
      const v = this.attr(tag, k, attrs[k]);
      if (v === undefined) delete attrs[k];
      else attrs[k] = v;
    }
  }

  /** A serialized subtree, in place. */
  node(n: SNode, parentTag = ""): void {
    if (n.type === 2 && n.tagName) {
      const tag = n.tagName.toLowerCase();
      if (n.attributes) {
        this.attrs(tag, n.attributes);
        if (tag === "link" && typeof n.attributes.rel === "string" && n.attributes.rel === "lotse-removed") delete n.attributes.href;
      }
      for (const c of n.childNodes ?? []) this.node(c, tag);
    } else if (n.type === 3 && (n.isStyle || parentTag === "style") && typeof n.textContent === "string") {
      n.textContent = this.css(n.textContent);
    } else {
      for (const c of n.childNodes ?? []) this.node(c, parentTag);
    }
  }

  /**
   * One event, in place. lookup gives the tag name of an existing node
   * (the viewer's mirror), for attribute and text mutations.
   */
  event(e: RREvent, lookup: (id: number) => string): void {
    if (e.type === EventType.Meta && typeof e.data.href === "string") {
      this.setPage(e.data.href);
      return;
    }
    if (e.type === EventType.FullSnapshot) {
      this.node(e.data.node as SNode);
      return;
    }
    if (e.type !== EventType.IncrementalSnapshot) return;
    const d = e.data as Record<string, unknown> & { source: number };
    switch (d.source) {
      case Source.Mutation: {
        const m = d as unknown as {
          adds: { parentId: number; node: SNode }[];
          attributes: { id: number; attributes: Record<string, unknown> }[];
          texts: { id: number; value: string | null }[];
        };
        for (const a of m.adds) this.node(a.node, lookup(a.parentId));
        for (const a of m.attributes) {
          const tag = lookup(a.id);
          for (const k of Object.keys(a.attributes)) {
            const v = a.attributes[k];
            if (k === "style" && v && typeof v === "object") {
              const o = v as Record<string, unknown>;
              for (const p of Object.keys(o)) {
                const pv = o[p];
                if (typeof pv === "string") o[p] = this.css(pv);
                else if (Array.isArray(pv) && typeof pv[0] === "string") pv[0] = this.css(pv[0]);
              }
              continue;
            }
            const r = this.attr(tag, k, v);
            // A dropped attribute must still not keep its old value.
            a.attributes[k] = r === undefined ? null : r;
          }
        }
        for (const t of m.texts) if (t.value && lookup(t.id) === "style") t.value = this.css(t.value);
        return;
      }
      case Source.StyleSheetRule: {
        const adds = d.adds as { rule: string }[] | undefined;
        for (const a of adds ?? []) a.rule = this.css(a.rule);
        if (typeof d.replace === "string") d.replace = this.css(d.replace);
        if (typeof d.replaceSync === "string") d.replaceSync = this.css(d.replaceSync);
        return;
      }
      case Source.StyleDeclaration: {
        const set = d.set as { value: string | null } | undefined;
        if (set && typeof set.value === "string") set.value = this.css(set.value);
        return;
      }
      case Source.AdoptedStyleSheet: {
        const styles = d.styles as { rules: { rule: string }[] }[] | undefined;
        for (const s of styles ?? []) for (const r of s.rules) r.rule = this.css(r.rule);
        return;
      }
    }
  }
}
