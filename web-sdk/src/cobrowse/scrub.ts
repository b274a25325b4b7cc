// The last check before an rrweb event leaves the customer's browser: with
// the live DOM at hand (through rrweb's mirror), every value of a sensitive
// field and every text in a masked region is replaced by the placeholder,
// and elements in masked regions keep only harmless attributes. rrweb's
// own masking runs first; this catches what it cannot see (shadow roots
// below a masked host, attributes that mirror a value).
import { type Masker, PLACEHOLDER } from "./mask";

/** rrweb's node mirror, as far as we use it. */
export interface NodeMirror {
  getNode(id: number): Node | null;
}

/** rrweb-snapshot's serialized node, loosely. */
export interface SNode {
  type: number;
  id: number;
  tagName?: string;
  attributes?: Record<string, unknown>;
  childNodes?: SNode[];
  textContent?: string;
  isStyle?: boolean;
}

/** An rrweb event, loosely. */
export interface RREvent {
  type: number;
  timestamp: number;
  data: Record<string, unknown>;
}

export const EventType = { DomContentLoaded: 0, Load: 1, FullSnapshot: 2, IncrementalSnapshot: 3, Meta: 4, Custom: 5, Plugin: 6 } as const;
export const Source = {
  Mutation: 0,
  MouseMove: 1,
  MouseInteraction: 2,
  Scroll: 3,
  ViewportResize: 4,
  Input: 5,
  TouchMove: 6,
  MediaInteraction: 7,
  StyleSheetRule: 8,
  CanvasMutation: 9,
  Font: 10,
  Log: 11,
  Drag: 12,
  StyleDeclaration: 13,
  Selection: 14,
  AdoptedStyleSheet: 15,
  CustomElement: 16,
} as const;
const ELEMENT = 2;
const TEXT = 3;

/** Attributes an element in a masked region keeps; everything else may carry its data. */
const SAFE_ATTRS = new Set([
  "id", "class", "style", "type", "name", "role", "placeholder", "for", "width", "height",
  "aria-hidden", "hidden", "disabled", "readonly", "tabindex", "lang", "dir",
  "rr_width", "rr_height", "data-lotse-mask", "data-lotse-mask-text", "data-lotse-block", "autocomplete",
]);

function maskValue(v: unknown): unknown {
  return typeof v === "string" && v !== "" ? PLACEHOLDER : v;
}

function scrubElementAttrs(el: Element, attrs: Record<string, unknown>, m: Masker): void {
  const tag = el.localName;
  const field = (tag === "input" || tag === "textarea" || tag === "select" || tag === "option") && m.isSensitiveField(tag === "option" ? (el.closest("select") ?? el) : el);
  if (field) {
    if ("value" in attrs) attrs.value = maskValue(attrs.value);
    delete attrs.checked;
    delete attrs.selected;
  }
  if (field || m.isMaskedRegion(el)) {
    for (const k of Object.keys(attrs)) if (!SAFE_ATTRS.has(k) && k !== "value") delete attrs[k];
  }
}

/** Scrubs a serialized subtree in place. */
export function scrubNode(n: SNode, mirror: NodeMirror, m: Masker): void {
  const dom = mirror.getNode(n.id);
  if (n.type === ELEMENT && n.attributes && dom && dom.nodeType === Node.ELEMENT_NODE) {
    scrubElementAttrs(dom as Element, n.attributes, m);
    if ((dom as Element).localName === "textarea" && m.isSensitiveField(dom as Element)) {
      for (const c of n.childNodes ?? []) if (c.type === TEXT) c.textContent = maskValue(c.textContent) as string;
    }
  } else if (n.type === TEXT && !n.isStyle && dom && typeof n.textContent === "string") {
    if (m.isMaskedText(dom)) n.textContent = m.maskText(n.textContent);
  } else if (!dom && n.type === TEXT && !n.isStyle && n.textContent) {
    // A node the mirror does not know: we cannot tell, so hide it.
    n.textContent = m.maskText(n.textContent);
  }
  for (const c of n.childNodes ?? []) scrubNode(c, mirror, m);
}

interface MutationData {
  texts: { id: number; value: string | null }[];
  attributes: { id: number; attributes: Record<string, unknown> }[];
  adds: { node: SNode }[];
}

/** Scrubs one event in place before it is sent. */
export function scrubEvent(e: RREvent, mirror: NodeMirror, m: Masker): void {
  if (e.type === EventType.FullSnapshot) {
    scrubNode(e.data.node as SNode, mirror, m);
    return;
  }
  if (e.type !== EventType.IncrementalSnapshot) return;
  const d = e.data;
  switch (d.source) {
    case Source.Mutation: {
      const md = d as unknown as MutationData;
      for (const a of md.adds) scrubNode(a.node, mirror, m);
      for (const t of md.texts) {
        const dom = mirror.getNode(t.id);
        if (t.value && (!dom || m.isMaskedText(dom))) t.value = m.maskText(t.value);
      }
      for (const a of md.attributes) {
        const dom = mirror.getNode(a.id);
        if (!dom) {
          if ("value" in a.attributes) a.attributes.value = maskValue(a.attributes.value);
        } else if (dom.nodeType === Node.ELEMENT_NODE) {
          scrubElementAttrs(dom as Element, a.attributes, m);
        }
      }
      break;
    }
    case Source.Input: {
      const dom = mirror.getNode(d.id as number);
      if (!dom || dom.nodeType !== Node.ELEMENT_NODE || m.isSensitiveField(dom as Element)) {
        d.text = maskValue(d.text);
        d.isChecked = false;
      }
      break;
    }
  }
}
