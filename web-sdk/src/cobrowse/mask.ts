// Masking rules for the customer's page. Everything here runs before any
// byte leaves the browser: rrweb calls maskInput/maskText while it
// serializes, and capture.ts scrubs every event once more (scrubEvent)
// with the live DOM at hand, so a rule that rrweb's own checks would miss
// (shadow roots, attributes mirroring a value) still holds.

/** Tenant rules: CSS selectors, fetched from the server by the caller. */
export interface MaskRules {
  /** Elements whose input values and text are masked (like data-lotse-mask). */
  mask?: readonly string[];
  /** Elements whose text is masked (like data-lotse-mask-text). */
  maskText?: readonly string[];
  /** Elements replaced by a same-size placeholder (like data-lotse-block). */
  block?: readonly string[];
}

/** What a masked value or text becomes: always the same, whatever its length. */
export const PLACEHOLDER = "••••••••";

/** The attribute on Lotse's own UI host element (never recorded). */
export const UI_ATTR = "data-lotse-ui";

const MASK_ATTR = "[data-lotse-mask]";
const MASK_TEXT_ATTR = "[data-lotse-mask-text]";
const BLOCK_ATTR = "[data-lotse-block]";

/** Names, ids, labels and autocomplete tokens that mean "card, account, secret". */
const SENSITIVE_NAME =
  /(^|[^a-z])(cc|card|karte|kreditkarte)[-_ .]?(num|no|nr|number|nummer)|cardnumber|ccnum|creditcard|kreditkarte|(^|[^a-z])(pan|cvc|cvv|cvv2|csc|cid)([^a-z]|$)|security.?code|pr(ü|ue)f(nummer|ziffer)|kartenpr(ü|ue)f|iban|(^|[^a-z])(bic|swift|blz)([^a-z]|$)|account.?(num|no|nr)|kontonummer|(^|[^a-z])(pin|tan|otp)([^a-z]|$)|passwor|kennwort|passcode|secret/i;

const SENSITIVE_AUTOCOMPLETE = /(^|\s)(cc-[a-z-]+|current-password|new-password|one-time-code)(\s|$)/i;

/** 13–19 digits, spaces or dashes between groups: a card number's shape. */
const CARD_VALUE = /^\s*\d(?:[ -]?\d){12,18}\s*$/;
/** Two letters, two digits, 11–30 more alphanumerics: an IBAN's shape. */
const IBAN_VALUE = /^\s*[a-z]{2}\s?\d{2}(?:\s?[a-z0-9]){11,30}\s*$/i;

function luhn(s: string): boolean {
  const d = s.replace(/\D/g, "");
  let sum = 0;
  for (let i = 0; i < d.length; i++) {
    let n = d.charCodeAt(d.length - 1 - i) - 48;
    if (i % 2 === 1) {
      n *= 2;
      if (n > 9) n -= 9;
    }
    sum += n;
  }
  return d.length >= 13 && sum % 10 === 0;
}

/** Whether a value looks like a card number or an IBAN. */
export function looksSensitive(v: string): boolean {
  return (CARD_VALUE.test(v) && luhn(v)) || IBAN_VALUE.test(v);
}

function checkSelector(sel: string): void {
  if (typeof sel !== "string" || sel.trim() === "") throw new Error("lotse cobrowse: empty masking rule");
  try {
    document.createDocumentFragment().querySelector(sel);
  } catch {
    // Fail closed: a rule the bank meant to apply must not silently vanish.
    throw new Error(`lotse cobrowse: invalid masking rule ${JSON.stringify(sel)}`);
  }
}

function join(base: string, extra: readonly string[] | undefined): string {
  return [base, ...(extra ?? [])].join(",");
}

/** The parent of a node, crossing shadow roots and same-origin iframes. */
function parentDeep(n: Node): Element | null {
  const p = n.parentNode;
  // Nodes may come from a same-origin iframe (another realm), so no
  // instanceof checks here.
  if (p && p.nodeType === Node.DOCUMENT_FRAGMENT_NODE && (p as ShadowRoot).host) return (p as ShadowRoot).host;
  if (p && p.nodeType === Node.ELEMENT_NODE) return p as Element;
  if (p && p.nodeType === Node.DOCUMENT_NODE) {
    try {
      return (p as Document).defaultView?.frameElement ?? null;
    } catch {
      return null;
    }
  }
  return null;
}

/** The nearest element at or above n matching sel, crossing shadow roots and iframes. */
export function closestDeep(n: Node | null, sel: string): Element | null {
  let e: Element | null = n ? (n.nodeType === Node.ELEMENT_NODE ? (n as Element) : parentDeep(n)) : null;
  while (e) {
    const hit = e.closest(sel);
    if (hit) return hit;
    // Climb out of this tree (shadow root or frame) and try again.
    let top: Element = e;
    while (top.parentElement) top = top.parentElement;
    e = parentDeep(top);
  }
  return null;
}

/** Decides what is masked, text-masked and blocked on this page. */
export class Masker {
  /** rrweb's blockSelector. */
  readonly blockSelector: string;
  /** rrweb's maskTextSelector. */
  readonly maskTextSelector: string;
  private readonly maskSelector: string;
  /** Once sensitive, always sensitive (a "show password" toggle changes nothing). */
  private readonly sticky = new WeakSet<Element>();

  constructor(rules: MaskRules = {}) {
    for (const s of [...(rules.mask ?? []), ...(rules.maskText ?? []), ...(rules.block ?? [])]) checkSelector(s);
    this.blockSelector = join(`${BLOCK_ATTR},[${UI_ATTR}]`, rules.block);
    this.maskSelector = join(MASK_ATTR, rules.mask);
    this.maskTextSelector = join(`${MASK_TEXT_ATTR},${this.maskSelector}`, rules.maskText);
  }

  /** Whether n lies in a blocked element (or Lotse's UI). */
  isBlocked(n: Node | null): boolean {
    return closestDeep(n, this.blockSelector) !== null;
  }

  /** Whether n lies in an element whose text is masked. */
  isMaskedText(n: Node | null): boolean {
    return closestDeep(n, this.maskTextSelector) !== null;
  }

  /** Whether n lies in an element marked masked (inputs and text). */
  isMaskedRegion(n: Node | null): boolean {
    return closestDeep(n, this.maskSelector) !== null;
  }

  /** Whether the value of this form field must never leave the browser. */
  isSensitiveField(el: Element): boolean {
    if (this.sticky.has(el)) return true;
    if (this.fieldRule(el)) {
      this.sticky.add(el);
      return true;
    }
    return false;
  }

  private fieldRule(el: Element): boolean {
    if (this.isMaskedRegion(el) || this.isBlocked(el)) return true;
    const tag = el.localName;
    if (tag !== "input" && tag !== "textarea" && tag !== "select") return false;
    if (tag === "input") {
      const type = (el.getAttribute("type") ?? "").toLowerCase();
      if (type === "password" || el.hasAttribute("data-rr-is-password")) return true;
    }
    const ac = el.getAttribute("autocomplete") ?? "";
    if (SENSITIVE_AUTOCOMPLETE.test(ac)) return true;
    for (const a of ["name", "id", "placeholder", "aria-label", "autocomplete", "data-lotse-field"]) {
      const v = el.getAttribute(a);
      if (v && SENSITIVE_NAME.test(v)) return true;
    }
    const labels = (el as HTMLInputElement).labels;
    if (labels) {
      for (const l of Array.from(labels)) if (SENSITIVE_NAME.test(l.textContent ?? "")) return true;
    }
    const value = (el as HTMLInputElement).value;
    return typeof value === "string" && looksSensitive(value);
  }

  /** Whether the advisor may act on n: not masked, not blocked, not ours. */
  isProtected(n: Node): boolean {
    if (this.isBlocked(n) || this.isMaskedRegion(n)) return true;
    const el = n.nodeType === Node.ELEMENT_NODE ? (n as Element) : parentDeep(n);
    return el !== null && this.isSensitiveField(el);
  }

  /** rrweb's maskInputFn: every form value passes through here. */
  maskInput = (text: string, el: HTMLElement): string => {
    if (!this.isSensitiveField(el)) return text;
    return text === "" ? "" : PLACEHOLDER;
  };

  /** rrweb's maskTextFn. */
  maskText = (text: string): string => (text.trim() === "" ? text : PLACEHOLDER);
}
