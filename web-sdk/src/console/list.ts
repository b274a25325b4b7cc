// The conversation list and the "new conversation" form.
import { errorText, t } from "../i18n";
import { ApiError } from "../protocol";
import { h } from "../widget/dom";
import { stateLabel, type Ctx } from "./main";

interface ConvSummary {
  id: string;
  state: string;
  subject?: string;
  customer_name?: string;
  created_at: string;
  waiting: number;
}

interface Created extends ConvSummary {
  share_url: string;
  code: string;
  expires_at: string;
  code_expires_at: string;
}

/** Renders the list; returns a cleanup function. */
export function renderList(ctx: Ctx): () => void {
  const { lang } = ctx;
  const tbody = h("tbody");
  const err = h("p", { class: "error", role: "alert", hidden: true });
  const shareBox = h("section", { class: "card share", hidden: true, "aria-live": "polite" });
  const subject = h("input", { name: "subject", maxlength: 200 });
  const customer = h("input", { name: "customer_name", maxlength: 80 });
  const form = h("form", { class: "card new-conversation" },
    h("h2", {}, t(lang, "new_conversation")),
    h("label", {}, t(lang, "subject"), subject),
    h("label", {}, t(lang, "customer_name"), customer),
    h("button", { type: "submit" }, t(lang, "create")));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    err.hidden = true;
    try {
      const c = await ctx.call<Created>("POST", "/api/v1/conversations", { subject: subject.value, customer_name: customer.value });
      showShare(ctx, shareBox, c);
      subject.value = customer.value = "";
      void refresh();
    } catch (x) {
      err.textContent = errorText(lang, x instanceof ApiError ? x.code : "generic");
      err.hidden = false;
    }
  });
  const table = h("table", { class: "conversations" },
    h("thead", {}, h("tr", {}, ...["subject", "customer_name", "state_active", "waiting_customers", ""].map((k) => h("th", { scope: "col" }, k ? (k === "state_active" ? "Status" : t(lang, k as "subject")) : "")))),
    tbody);
  ctx.main.append(h("h1", {}, t(lang, "conversations")), err, form, shareBox, table);

  const refresh = async () => {
    try {
      const res = await ctx.call<{ conversations: ConvSummary[] }>("GET", "/api/v1/conversations?limit=100");
      const rows = res.conversations.sort((a, b) => (b.waiting > 0 ? 1 : 0) - (a.waiting > 0 ? 1 : 0));
      tbody.replaceChildren(...rows.map((c) =>
        h("tr", { class: c.waiting > 0 ? "waiting" : "", "data-id": c.id },
          h("td", {}, c.subject ?? ""), h("td", {}, c.customer_name ?? ""), h("td", {}, stateLabel(lang, c.state)),
          h("td", {}, c.waiting > 0 ? String(c.waiting) : ""),
          h("td", {}, c.state === "ended" ? "" : h("a", { href: "#/c/" + c.id }, t(lang, "open"))))));
      if (rows.length === 0) tbody.append(h("tr", {}, h("td", { colspan: 5 }, t(lang, "none"))));
    } catch (x) {
      if (x instanceof ApiError && x.status === 401) location.href = "/console/login";
    }
  };
  void refresh();
  const timer = window.setInterval(refresh, 3000);
  return () => window.clearInterval(timer);
}

function showShare(ctx: Ctx, box: HTMLElement, c: Created): void {
  const { lang } = ctx;
  const link = h("input", { readonly: true, value: c.share_url, class: "share-url", "aria-label": t(lang, "share_link") });
  const copy = h("button", { type: "button" }, t(lang, "copy"));
  copy.addEventListener("click", async () => {
    link.select();
    try {
      await navigator.clipboard.writeText(c.share_url);
    } catch {
      document.execCommand("copy");
    }
    copy.textContent = t(lang, "copied");
  });
  const until = (iso: string) => new Date(iso).toLocaleString(lang);
  box.replaceChildren(
    h("h2", {}, c.subject || t(lang, "new_conversation")),
    h("label", {}, t(lang, "share_link"), h("span", { class: "row" }, link, copy)),
    h("p", { class: "muted" }, `${t(lang, "valid_until")} ${until(c.expires_at)}`),
    h("p", {}, `${t(lang, "phone_code")}: `, h("strong", { class: "code" }, c.code), ` (${t(lang, "valid_until")} ${until(c.code_expires_at)})`),
    h("p", {}, h("a", { href: "#/c/" + c.id, class: "button" }, t(lang, "open"))),
  );
  box.hidden = false;
}
