// The advisor's session room: waiting customers with Admit, participants,
// chat, the conversation's timeline, and End. It reconnects by itself after
// a network drop (SignalClient resumes the session).
import { errorText, t, texts, type Lang, type TextKey } from "../i18n";
import { ApiError, type JoinResponse, type Participant, type ServerMessage } from "../protocol";
import { SignalClient } from "../signal";
import { DATA_CHANNEL_MESSAGE_BYTES, startViewer, type ViewerMode, type ViewerSession } from "../cobrowse";
import { MediaPanel } from "./mediapanel";
import { h, hhmm } from "../widget/dom";
import { stateLabel, type Ctx } from "./main";

interface RecordEvent {
  seq: number;
  at: string;
  actor: string;
  type: string;
  data?: Record<string, unknown> | null;
}

/**
 * One timeline line in words: who did what ("Erika Muster · Camera
 * started"), the raw event type kept in a title for support.
 */
export function describeEvent(lang: Lang, e: RecordEvent, names: Map<string, string>): string {
  const str = (v: unknown) => (typeof v === "string" ? v : "");
  const pid = str(e.data?.participant_id) || (e.actor.startsWith("participant:") ? e.actor.slice("participant:".length) : "");
  const who = names.get(pid) ?? (e.actor === "system" ? t(lang, "system") : "");
  const key = ("ev_" + e.type.replace(/\./g, "_")) as TextKey;
  let what: string = key in texts ? t(lang, key) : e.type;
  if (e.type === "media.started" || e.type === "media.stopped") {
    const src = ("src_" + str(e.data?.source)) as TextKey;
    what = `${src in texts ? t(lang, src) : str(e.data?.source)} ${what}`;
  }
  if (e.type === "chat") {
    const text = str(e.data?.text);
    what += text ? `: ${text.length > 80 ? text.slice(0, 79) + "…" : text}` : "";
  }
  return who && e.type !== "conversation.created" ? `${who} · ${what}` : what;
}

/** Opens the room of conversation id; returns a cleanup function. */
export function openRoom(ctx: Ctx, id: string): () => void {
  const { lang } = ctx;
  const people = new Map<string, Participant>();
  let selfID = "";
  const status = h("p", { class: "status", role: "status" });
  const waitingList = h("ul", { class: "waiting-list", "aria-live": "assertive" });
  const partList = h("ul", { class: "participants" });
  const chat = h("div", { class: "chat", role: "log", "aria-live": "polite" });
  const typing = h("div", { class: "typing", "aria-live": "polite" });
  const input = h("input", { name: "message", maxlength: 4000, "aria-label": t(lang, "message"), autocomplete: "off" });
  const composer = h("form", { class: "composer" }, input, h("button", { type: "submit" }, t(lang, "send")));
  const timeline = h("ol", { class: "timeline" });
  const endBtn = h("button", { type: "button", class: "danger end-session" }, t(lang, "end_session"));
  const err = h("p", { class: "error", role: "alert", hidden: true });
  const stage = h("div", { class: "cobrowse-stage" });
  const cbStatus = h("p", { class: "muted cobrowse-status", "aria-live": "polite" }, t(lang, "cobrowse_waiting"));
  const modeButtons = (["point", "highlight", "control"] as ViewerMode[]).map((m) =>
    h("button", { type: "button", class: "secondary mode", "data-mode": m, "aria-pressed": m === "point" ? "true" : "false" },
      t(lang, ("mode_" + m) as "mode_point")));
  const reqBtn = h("button", { type: "button", class: "request-control" }, t(lang, "request_control"));
  const relBtn = h("button", { type: "button", class: "secondary release-control", hidden: true }, t(lang, "release_control"));
  const mediaSlot = h("div", { class: "media-slot" });
  // The customer's page is the advisor's main work surface: large, on the
  // left; people, video and chat beside it; the record below.
  ctx.main.append(
    h("div", { class: "room-head" }, h("a", { href: "#" }, "← " + t(lang, "back")), h("h1", {}, t(lang, "title")), status, endBtn),
    err,
    h("div", { class: "workspace" },
      h("section", { class: "card cobrowse" }, h("h2", {}, t(lang, "cobrowse")), cbStatus,
        h("div", { class: "row" }, ...modeButtons, reqBtn, relBtn), stage),
      h("div", { class: "side" },
        h("section", { class: "card people" }, h("h2", {}, t(lang, "waiting_customers")), waitingList, h("h2", {}, t(lang, "participants")), partList),
        mediaSlot,
        h("section", { class: "card" }, h("h2", {}, t(lang, "chat")), chat, typing, composer))),
    h("section", { class: "card room-record" }, h("h2", {}, t(lang, "timeline")), timeline));
  ctx.main.classList.add("wide");

  let viewer: ViewerSession | null = null;
  let media: MediaPanel | null = null;
  let dc: RTCDataChannel | null = null;

  let client: SignalClient | null = null;
  const render = () => {
    const waiting = [...people.values()].filter((p) => p.state === "waiting");
    waitingList.replaceChildren(...waiting.map((p) =>
      h("li", { "data-participant": p.id }, h("strong", {}, p.name), " ",
        h("button", { type: "button", class: "admit", onclick: () => client?.send({ type: "admit", participant_id: p.id }) }, t(lang, "admit")), " ",
        h("button", { type: "button", class: "secondary", onclick: () => client?.send({ type: "remove", participant_id: p.id }) }, t(lang, "remove")))));
    if (waiting.length === 0) waitingList.append(h("li", { class: "muted" }, "—"));
    partList.replaceChildren(...[...people.values()].filter((p) => p.state === "admitted").map((p) =>
      h("li", { "data-participant": p.id }, `${p.name} (${p.role}) · ${p.connected ? t(lang, "connected") : t(lang, "disconnected")}`,
        p.consent ? ` · ${t(lang, "consent_given")}: ${[p.consent.camera && t(lang, "share_camera"), p.consent.microphone && t(lang, "share_microphone"), p.consent.cobrowse && "Co-Browsing"].filter(Boolean).join(", ")}` : "",
        p.id !== selfID && p.role === "customer" ? h("button", { type: "button", class: "secondary", onclick: () => client?.send({ type: "remove", participant_id: p.id }) }, t(lang, "remove")) : null)));
  };
  const addChat = (from: string, name: string, text: string, at: string) => {
    chat.append(h("div", { class: "msg" + (from === selfID ? " mine" : "") }, h("span", { class: "who" }, `${name} · ${hhmm(at, lang)}`), text));
    chat.scrollTop = chat.scrollHeight;
  };
  const loadTimeline = async () => {
    try {
      const rec = await ctx.call<{ state: string; events: RecordEvent[]; participants?: { id: string; name: string }[] }>("GET", "/api/v1/conversations/" + id);
      status.textContent = stateLabel(lang, rec.state);
      const names = new Map((rec.participants ?? []).map((p) => [p.id, p.name] as [string, string]));
      timeline.replaceChildren(...rec.events.map((e) => h("li", { "data-type": e.type, title: e.type }, `${hhmm(e.at, lang)} ${describeEvent(lang, e, names)}`)));
    } catch {
      /* shown by the connection state */
    }
  };
  const onMessage = (m: ServerMessage) => {
    switch (m.type) {
      case "joined":
        selfID = m.self.id;
        // A fresh session (the old one could not be resumed) comes with a
        // new SFU peer: media starts over.
        if (!m.resumed && media) media.restart(m.ice_servers);
        if (!m.resumed) {
          people.clear();
          chat.replaceChildren();
          for (const c of m.chat) addChat(c.from, c.name, c.text, c.at);
        }
        for (const p of m.participants) people.set(p.id, p);
        break;
      case "participant_joined":
      case "participant_updated":
        people.set(m.participant.id, m.participant);
        if (m.participant.state === "waiting") document.title = "● " + t(lang, "waiting_customers");
        break;
      case "participant_left":
        people.delete(m.participant_id);
        break;
      case "media":
        media?.handle(m);
        return;
      case "ice_servers":
        media?.session.refreshICE(m.ice_servers);
        return;
      case "chat_delivered":
        addChat(m.message.from, m.message.name, m.message.text, m.message.at);
        break;
      case "typing_update":
        typing.textContent = m.active ? `${people.get(m.participant_id)?.name ?? ""} ${t(lang, "typing")}` : "";
        break;
      case "conversation_ended":
        status.textContent = t(lang, "ended");
        composer.hidden = endBtn.hidden = true;
        break;
      case "error":
        if (m.code === "resume_failed") break; // the client joined afresh by itself: nothing to do
        err.textContent = m.message;
        err.hidden = false;
        break;
    }
    media?.setParticipants(people.values());
    render();
    void loadTimeline();
  };

  const setMode = (m: ViewerMode) => {
    viewer?.setMode(m);
    for (const b of modeButtons) b.setAttribute("aria-pressed", b.dataset["mode"] === m ? "true" : "false");
  };
  for (const b of modeButtons) b.addEventListener("click", () => setMode(b.dataset["mode"] as ViewerMode));
  reqBtn.addEventListener("click", () => viewer?.requestControl());
  relBtn.addEventListener("click", () => viewer?.releaseControl());

  const token = async () => (await ctx.call<JoinResponse>("POST", `/api/v1/conversations/${id}/token`)).join_token;
  void (async () => {
    try {
      const res = await ctx.call<JoinResponse>("POST", `/api/v1/conversations/${id}/token`);
      client = new SignalClient(res.signal_url, res.join_token, token);
      const c = client;
      viewer = startViewer({
        container: stage,
        // The data channel when open (16 KiB messages), else the WebSocket.
        send: (f) => {
          if (dc && dc.readyState === "open" && f.byteLength <= DATA_CHANNEL_MESSAGE_BYTES && dc.bufferedAmount < 1 << 20) {
            dc.send(f as Uint8Array<ArrayBuffer>);
            return true;
          }
          return c.sendBinary(f);
        },
        onState: (v) => {
          cbStatus.textContent = v.sharing ? `${v.href} · ${v.width}×${v.height}` : t(lang, "cobrowse_waiting");
          const granted = v.control === "granted" && v.controlParticipant === v.me;
          const requested = v.control === "requested" && v.controlParticipant === v.me;
          cbStatus.dataset["control"] = granted ? "granted" : requested ? "requested" : "none";
          reqBtn.hidden = granted || requested;
          relBtn.hidden = !granted && !requested;
          if (granted || requested) cbStatus.append(" · ", t(lang, granted ? "control_granted" : "control_requested"));
          if (granted) setMode("control");
        },
      });
      client.onBinary((f) => viewer?.receive(f));
      client.on(onMessage);
      client.on((m) => {
        if (m.type !== "joined" || media) return;
        media = new MediaPanel(lang, c, m.ice_servers, (ch) => {
          dc = ch;
          if (ch) ch.onmessage = (e) => {
            if (e.data instanceof ArrayBuffer) viewer?.receive(new Uint8Array(e.data));
          };
        }, m.ice_transport_policy === "relay" ? "relay" : "all");
        mediaSlot.replaceChildren(media.el);
        void media.start();
      });
      client.onState((s) => {
        if (s === "reconnecting") status.textContent = t(lang, "reconnecting");
      });
      await client.start();
    } catch (x) {
      err.textContent = errorText(lang, x instanceof ApiError ? x.code : "generic");
      err.hidden = false;
    }
  })();
  composer.addEventListener("submit", (e) => {
    e.preventDefault();
    const text = input.value.trim();
    if (!text) return;
    client?.send({ type: "chat", text });
    input.value = "";
  });
  endBtn.addEventListener("click", () => client?.send({ type: "end" }));
  document.title = t(lang, "title") + " · Lotse";
  return () => {
    ctx.main.classList.remove("wide");
    viewer?.destroy();
    media?.close();
    client?.stop();
  };
}
