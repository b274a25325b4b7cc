// Performs the advisor's actions on the customer's page, once the customer
// has granted control. Every action names an rrweb node id; anything in a
// masked or blocked element, any sensitive field and Lotse's own UI are
// refused here, in the customer's browser, whatever the server let pass.
import type { ActionHeader } from "./protocol";
import type { Masker } from "./mask";
import type { NodeMirror } from "./scrub";

export interface ActionOutcome {
  ok: boolean;
  err?: string;
}

const TEXT_INPUTS = new Set(["", "text", "search", "email", "tel", "url", "number"]);

// Elements may live in a same-origin iframe, another realm: the checks
// below compare tag names instead of using instanceof.

function setValue(el: HTMLInputElement | HTMLTextAreaElement, v: string): void {
  // Through the prototype's setter, so frameworks that track the value
  // (React and others) see the change, and rrweb records it.
  const set = Object.getOwnPropertyDescriptor(Object.getPrototypeOf(el) as object, "value")?.set;
  if (set) set.call(el, v);
  else el.value = v;
}

function fire(el: Element, type: string, init: EventInit & { inputType?: string; data?: string; key?: string }): void {
  let ev: Event;
  if (type === "input") ev = new InputEvent(type, { bubbles: true, composed: true, ...init });
  else if (type.startsWith("key")) ev = new KeyboardEvent(type, { bubbles: true, composed: true, cancelable: true, ...init });
  else ev = new Event(type, { bubbles: true, ...init });
  el.dispatchEvent(ev);
}

function editable(el: Element): el is HTMLInputElement | HTMLTextAreaElement {
  const f = el as HTMLInputElement;
  if (el.localName === "textarea") return !f.disabled && !f.readOnly;
  if (el.localName === "input") return TEXT_INPUTS.has(f.type.toLowerCase()) && !f.disabled && !f.readOnly;
  return false;
}

/** Performs one action; the caller has checked the grant. */
export function perform(a: ActionHeader, mirror: NodeMirror, masker: Masker): ActionOutcome {
  const node = mirror.getNode(a.n);
  if (!node || !node.isConnected) return { ok: false, err: "not_found" };
  if (a.k === "scroll") {
    const x = a.x ?? 0;
    const y = a.y ?? 0;
    if (node.nodeType === Node.DOCUMENT_NODE) {
      (node as Document).defaultView?.scrollTo({ left: x, top: y, behavior: "instant" });
      return { ok: true };
    }
    if (node.nodeType !== Node.ELEMENT_NODE) return { ok: false, err: "unsupported" };
    if (masker.isBlocked(node)) return { ok: false, err: "masked" };
    (node as Element).scrollTo({ left: x, top: y, behavior: "instant" });
    return { ok: true };
  }
  const el = node.nodeType === Node.ELEMENT_NODE ? (node as Element) : node.parentElement;
  if (!el) return { ok: false, err: "not_found" };
  if (masker.isProtected(el)) return { ok: false, err: "masked" };
  switch (a.k) {
    case "click": {
      const h = el as HTMLElement;
      if (typeof h.click === "function") {
        h.focus({ preventScroll: true });
        h.click();
      } else {
        el.dispatchEvent(new MouseEvent("click", { bubbles: true, cancelable: true, composed: true }));
      }
      return { ok: true };
    }
    case "type": {
      if (!editable(el)) return { ok: false, err: "unsupported" };
      const text = a.v ?? "";
      el.focus({ preventScroll: true });
      const start = el.selectionStart ?? el.value.length;
      const end = el.selectionEnd ?? el.value.length;
      let next: string;
      try {
        next = el.value.slice(0, start) + text + el.value.slice(end);
      } catch {
        next = el.value + text;
      }
      setValue(el, next);
      try {
        el.setSelectionRange(start + text.length, start + text.length);
      } catch {
        // type=email or number: no selection API.
      }
      fire(el, "input", { inputType: "insertText", data: text });
      fire(el, "change", {});
      // The value may now look like a card number: then the field is
      // sensitive from here on, and the next action on it is refused.
      masker.isSensitiveField(el);
      return { ok: true };
    }
    case "key": {
      const key = a.v ?? "";
      if (!["Backspace", "Enter", "Escape", "Tab"].includes(key)) return { ok: false, err: "unsupported" };
      fire(el, "keydown", { key });
      if (key === "Backspace" && editable(el) && el.value.length > 0) {
        const v = el.value;
        const start = el.selectionStart ?? v.length;
        const end = el.selectionEnd ?? v.length;
        const cut = start === end ? Math.max(0, start - 1) : start;
        setValue(el, v.slice(0, cut) + v.slice(end));
        fire(el, "input", { inputType: "deleteContentBackward" });
      } else if (key === "Enter") {
        if (el.localName === "textarea" && editable(el)) {
          setValue(el, el.value + "\n");
          fire(el, "input", { inputType: "insertLineBreak" });
        } else if (el.localName === "input" && (el as HTMLInputElement).form) {
          (el as HTMLInputElement).form?.requestSubmit();
        }
      }
      fire(el, "keyup", { key });
      return { ok: true };
    }
  }
  return { ok: false, err: "unsupported" };
}
