// The advisor's video panel: every participant's camera and screen share
// as tiles (the active speaker outlined), the advisor's own preview, and
// buttons for microphone, camera, screen sharing and device choice.
import { errorText, t, type Lang } from "../i18n";
import { deviceError, MediaSession, type RemoteMedia } from "../media";
import type { ICEServer, MediaMsg, Participant } from "../protocol";
import type { SignalClient } from "../signal";
import { h } from "../widget/dom";

export class MediaPanel {
  readonly el: HTMLElement;
  session: MediaSession;
  private grid = h("div", { class: "tiles" });
  private notice = h("p", { class: "muted", "aria-live": "polite" });
  private selfVideo = h("video", { class: "self", autoplay: true, playsinline: true });
  private tiles = new Map<string, HTMLElement>();
  private observer: ResizeObserver;
  private local: MediaStream | null = null;
  private screen: MediaStream | null = null;
  private micOn = false;
  private camOn = false;
  private names = new Map<string, string>();
  private buttons: Record<"mic" | "cam" | "screen", HTMLButtonElement>;
  private camSelect = h("select", { "aria-label": "camera" });
  private micSelect = h("select", { "aria-label": "microphone" });

  constructor(
    private readonly lang: Lang,
    client: SignalClient,
    ice: ICEServer[],
    onDataChannel: (dc: RTCDataChannel | null) => void,
    icePolicy: RTCIceTransportPolicy = "all",
  ) {
    const tx = (k: Parameters<typeof t>[1]) => t(lang, k);
    this.selfVideo.muted = true;
    this.buttons = {
      mic: h("button", { type: "button", class: "secondary toggle-mic" }, tx("mic_off")),
      cam: h("button", { type: "button", class: "secondary toggle-camera" }, tx("camera_off")),
      screen: h("button", { type: "button", class: "secondary share-screen" }, tx("share_screen")),
    };
    this.buttons.mic.addEventListener("click", () => this.toggle("microphone"));
    this.buttons.cam.addEventListener("click", () => this.toggle("camera"));
    this.buttons.screen.addEventListener("click", () => void this.toggleScreen());
    this.camSelect.addEventListener("change", () => void this.switchDevice("camera"));
    this.micSelect.addEventListener("change", () => void this.switchDevice("microphone"));
    this.el = h("section", { class: "card media-panel" },
      h("div", { class: "stage-row" }, this.grid, this.selfVideo),
      h("div", { class: "row" }, this.buttons.mic, this.buttons.cam, this.buttons.screen,
        h("label", { class: "inline" }, tx("devices"), " ", this.camSelect, " ", this.micSelect)),
      this.notice);
    this.observer = new ResizeObserver((entries) => {
      for (const e of entries) {
        const id = (e.target as HTMLElement).dataset["track"];
        if (id) this.session.showVideo(id, e.contentRect.width * devicePixelRatio, e.contentRect.height * devicePixelRatio);
      }
    });
    this.newSession = (servers) => new MediaSession(client, servers, {
      onRemote: (r) => this.show(r),
      onRemoteEnded: (id) => this.remove(id),
      onSpeakers: (ids) => {
        for (const el of this.tiles.values()) el.classList.toggle("speaking", ids.includes(el.dataset["participant"] ?? ""));
      },
      onDataChannel,
      onBroken: () => this.restart(undefined, true),
      onState: (s) => {
        this.notice.textContent = s === "failed" ? tx("media_failed") : "";
      },
    }, icePolicy);
    this.session = this.newSession(ice);
    this.ice = ice;
    this.client = client;
    this.onDataChannel = onDataChannel;
  }

  private readonly newSession: (ice: ICEServer[]) => MediaSession;
  private ice: ICEServer[];
  private readonly client: SignalClient;
  private readonly onDataChannel: (dc: RTCDataChannel | null) => void;

  handle(m: MediaMsg): void {
    if (m.kind === "restart" && m.reason === "rejoin" && !this.session.awaitingMarker) return this.restart();
    void this.session.handle(m);
  }

  /**
   * Starts over with a new PeerConnection (the server gave us a new SFU
   * peer: after a reconnect that could not resume, or a "rejoin") and
   * publishes camera, microphone and screen again as they were.
   */
  restart(ice?: ICEServer[], ask = false): void {
    this.session.close(true);
    for (const id of [...this.tiles.keys()]) this.remove(id);
    this.onDataChannel(null);
    if (ice) this.ice = ice;
    this.session = this.newSession(this.ice);
    if (ask) {
      this.session.awaitMarker();
      this.client.send({ type: "media", kind: "restart", reason: "rejoin" });
    }
    if (this.local) {
      for (const track of this.local.getTracks()) {
        const source = track.kind === "video" ? "camera" : "microphone";
        this.session.publish(source, track, this.local);
        if ((source === "camera" && !this.camOn) || (source === "microphone" && !this.micOn)) this.session.mute(source, true);
      }
    }
    const screen = this.screen?.getVideoTracks()[0];
    if (this.screen && screen) this.session.publish("screen", screen, this.screen);
  }

  /** Keeps the names for tile labels. */
  setParticipants(ps: Iterable<Participant>): void {
    for (const p of ps) this.names.set(p.id, p.name);
    for (const el of this.tiles.values()) {
      const label = el.querySelector(".name");
      if (label) label.textContent = this.names.get(el.dataset["participant"] ?? "") ?? "";
    }
  }

  async start(): Promise<void> {
    try {
      this.local = await navigator.mediaDevices.getUserMedia({ video: { width: 1280, height: 720 }, audio: true });
    } catch (e) {
      this.notice.textContent = errorText(this.lang, deviceError(e));
      try {
        this.local = await navigator.mediaDevices.getUserMedia({ audio: true });
      } catch {
        /* chat and co-browsing still work */
      }
    }
    if (this.local) {
      for (const track of this.local.getTracks()) {
        this.session.publish(track.kind === "video" ? "camera" : "microphone", track, this.local);
        if (track.kind === "video") this.camOn = true;
        else this.micOn = true;
      }
      this.selfVideo.srcObject = this.local;
    }
    await this.listDevices();
    this.update();
  }

  private async listDevices(): Promise<void> {
    let devices: MediaDeviceInfo[] = [];
    try {
      devices = await navigator.mediaDevices.enumerateDevices();
    } catch {
      return;
    }
    const fill = (sel: HTMLSelectElement, kind: MediaDeviceKind, current?: string) => {
      sel.replaceChildren(...devices.filter((d) => d.kind === kind).map((d, i) =>
        h("option", { value: d.deviceId, selected: d.deviceId === current }, d.label || `${kind} ${i + 1}`)));
    };
    fill(this.camSelect, "videoinput", this.local?.getVideoTracks()[0]?.getSettings().deviceId);
    fill(this.micSelect, "audioinput", this.local?.getAudioTracks()[0]?.getSettings().deviceId);
  }

  private async switchDevice(source: "camera" | "microphone"): Promise<void> {
    const id = source === "camera" ? this.camSelect.value : this.micSelect.value;
    try {
      const s = await navigator.mediaDevices.getUserMedia(source === "camera" ? { video: { deviceId: { exact: id } } } : { audio: { deviceId: { exact: id } } });
      const track = s.getTracks()[0];
      if (!track || !this.local) return;
      const old = source === "camera" ? this.local.getVideoTracks()[0] : this.local.getAudioTracks()[0];
      if (old) {
        this.local.removeTrack(old);
        old.stop();
      }
      this.local.addTrack(track);
      await this.session.replace(source, track);
    } catch (e) {
      this.notice.textContent = errorText(this.lang, deviceError(e));
    }
  }

  private toggle(source: "camera" | "microphone"): void {
    if (source === "camera") this.camOn = !this.camOn;
    else this.micOn = !this.micOn;
    this.session.mute(source, source === "camera" ? !this.camOn : !this.micOn);
    this.update();
  }

  private async toggleScreen(): Promise<void> {
    if (this.screen) {
      this.session.unpublish("screen");
      this.screen = null;
      this.update();
      return;
    }
    try {
      this.screen = await navigator.mediaDevices.getDisplayMedia({ video: true, audio: false });
    } catch {
      return; // the advisor cancelled
    }
    const track = this.screen.getVideoTracks()[0];
    if (!track) return;
    track.onended = () => {
      this.session.unpublish("screen");
      this.screen = null;
      this.update();
    };
    this.session.publish("screen", track, this.screen);
    this.update();
  }

  private update(): void {
    const tx = (k: Parameters<typeof t>[1]) => t(this.lang, k);
    this.buttons.mic.textContent = tx(this.micOn ? "mic_off" : "mic_on");
    this.buttons.cam.textContent = tx(this.camOn ? "camera_off" : "camera_on");
    this.buttons.screen.textContent = tx(this.screen ? "stop_screen" : "share_screen");
    this.buttons.mic.hidden = !this.local?.getAudioTracks().length;
    this.buttons.cam.hidden = !this.local?.getVideoTracks().length;
  }

  private show(r: RemoteMedia): void {
    let el = this.tiles.get(r.info.id);
    if (!el) {
      if (r.track.kind === "video") {
        const v = h("video", { autoplay: true, playsinline: true, "data-track": r.info.id });
        v.muted = true;
        v.srcObject = new MediaStream([r.track]);
        this.observer.observe(v);
        el = h("figure", { class: "tile", "data-participant": r.info.participant_id, "data-source": r.info.source },
          v, h("figcaption", { class: "name" }, this.names.get(r.info.participant_id) ?? ""));
      } else {
        const a = h("audio", { autoplay: true, "data-track": r.info.id });
        a.srcObject = new MediaStream([r.track]);
        el = h("span", { class: "audio", "data-participant": r.info.participant_id }, a);
      }
      this.tiles.set(r.info.id, el);
      this.grid.append(el);
    }
    el.classList.toggle("muted", !!r.info.muted);
  }

  private remove(id: string): void {
    const el = this.tiles.get(id);
    if (!el) return;
    const v = el.querySelector("video");
    if (v) this.observer.unobserve(v);
    el.remove();
    this.tiles.delete(id);
  }

  close(): void {
    this.observer.disconnect();
    this.local?.getTracks().forEach((tr) => tr.stop());
    this.screen?.getTracks().forEach((tr) => tr.stop());
    this.session.close();
  }
}
