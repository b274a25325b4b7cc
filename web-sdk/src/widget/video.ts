// The customer's video window inside the widget: the advisor's video (or
// their name while no camera runs), the customer's own preview, and the
// microphone and camera buttons. Media flows through MediaSession.
import { errorText, t, type Lang } from "../i18n";
import { deviceError, MediaSession, type RemoteMedia } from "../media";
import type { ICEServer, MediaMsg } from "../protocol";
import type { SignalClient } from "../signal";
import { h } from "./dom";

export interface VideoOptions {
  lang: Lang;
  client: SignalClient;
  iceServers: ICEServer[];
  /** "relay": media only through the TURN relay (joined.ice_transport_policy). */
  icePolicy?: RTCIceTransportPolicy;
  camera: boolean;
  microphone: boolean;
  /** The co-browse data channel came up or went away. */
  onDataChannel(dc: RTCDataChannel | null): void;
  /** A message for the customer (device problems, connection). */
  onNotice(text: string): void;
}

/** VideoWindow owns the media session and its part of the widget. */
export class VideoWindow {
  readonly el: HTMLElement;
  session: MediaSession;
  private remoteBox: HTMLElement;
  private selfVideo: HTMLVideoElement;
  private micBtn: HTMLButtonElement;
  private camBtn: HTMLButtonElement;
  private local: MediaStream | null = null;
  private micOn = false;
  private camOn = false;
  private observer: ResizeObserver;
  private tiles = new Map<string, HTMLElement>();

  constructor(private readonly o: VideoOptions) {
    const tx = (k: Parameters<typeof t>[1]) => t(o.lang, k);
    this.remoteBox = h("div", { class: "remote", "aria-label": tx("advisor_video") });
    this.selfVideo = h("video", { class: "self", muted: true, autoplay: true, playsinline: true, "aria-label": tx("your_video") });
    this.selfVideo.muted = true;
    this.micBtn = h("button", { type: "button", class: "secondary", "aria-pressed": "false" }, tx("mic_off"));
    this.camBtn = h("button", { type: "button", class: "secondary", "aria-pressed": "false" }, tx("camera_off"));
    this.micBtn.addEventListener("click", () => this.toggle("microphone"));
    this.camBtn.addEventListener("click", () => this.toggle("camera"));
    this.el = h("div", { class: "video" }, this.remoteBox, this.selfVideo, h("div", { class: "row" }, this.micBtn, this.camBtn));
    this.observer = new ResizeObserver((entries) => {
      for (const e of entries) {
        const v = e.target as HTMLVideoElement;
        const id = v.dataset["track"];
        if (id) this.session.showVideo(id, e.contentRect.width * devicePixelRatio, e.contentRect.height * devicePixelRatio);
      }
    });
    this.session = this.newSession(o.iceServers);
  }

  private newSession(ice: ICEServer[]): MediaSession {
    return new MediaSession(this.o.client, ice, {
      onRemote: (r) => this.showRemote(r),
      onRemoteEnded: (id) => this.removeRemote(id),
      onDataChannel: (dc) => this.o.onDataChannel(dc),
      onState: (s) => {
        if (s === "failed") this.o.onNotice(t(this.o.lang, "media_failed"));
      },
      onError: () => {},
      onBroken: () => this.restart(undefined, true),
    }, this.o.icePolicy);
  }

  /** Feeds a media message from the server. */
  handle(m: MediaMsg): void {
    if (m.kind === "restart" && m.reason === "rejoin" && !this.session.awaitingMarker) return this.restart();
    void this.session.handle(m);
  }

  /**
   * Starts over with a new PeerConnection (the server gave us a new SFU
   * peer: after a reconnect that could not resume, or a "rejoin"), and
   * publishes the camera and microphone again as they were.
   */
  restart(ice?: ICEServer[], ask = false): void {
    this.session.close(true);
    for (const id of [...this.tiles.keys()]) this.removeRemote(id);
    this.o.onDataChannel(null);
    this.session = this.newSession(ice ?? this.o.iceServers);
    if (ice) this.o.iceServers = ice;
    if (ask) {
      this.session.awaitMarker();
      this.o.client.send({ type: "media", kind: "restart", reason: "rejoin" });
    }
    if (!this.local) return;
    for (const track of this.local.getTracks()) {
      const source = track.kind === "video" ? "camera" : "microphone";
      this.session.publish(source, track, this.local);
      if ((source === "camera" && !this.camOn) || (source === "microphone" && !this.micOn)) this.session.mute(source, true);
    }
  }

  /** Opens camera and microphone as consented and publishes them. */
  async start(): Promise<void> {
    if (!this.o.camera && !this.o.microphone) return;
    try {
      this.local = await navigator.mediaDevices.getUserMedia({ video: this.o.camera ? { width: 640, height: 360 } : false, audio: this.o.microphone });
    } catch (e) {
      const key = deviceError(e);
      this.o.onNotice(errorText(this.o.lang, key));
      // Without a camera, try the microphone alone.
      if (this.o.camera && this.o.microphone) {
        try {
          this.local = await navigator.mediaDevices.getUserMedia({ audio: true });
        } catch (e2) {
          this.o.onNotice(errorText(this.o.lang, deviceError(e2)));
        }
      }
    }
    if (!this.local) return;
    for (const track of this.local.getTracks()) {
      const source = track.kind === "video" ? "camera" : "microphone";
      this.session.publish(source, track, this.local);
      if (source === "camera") this.camOn = true;
      else this.micOn = true;
    }
    if (this.camOn) this.selfVideo.srcObject = this.local;
    this.updateButtons();
  }

  private toggle(source: "camera" | "microphone"): void {
    const on = source === "camera" ? !this.camOn : !this.micOn;
    if (source === "camera") this.camOn = on;
    else this.micOn = on;
    this.session.mute(source, !on);
    this.updateButtons();
  }

  private updateButtons(): void {
    const tx = (k: Parameters<typeof t>[1]) => t(this.o.lang, k);
    const hasMic = !!this.local?.getAudioTracks().length;
    const hasCam = !!this.local?.getVideoTracks().length;
    this.micBtn.hidden = !hasMic;
    this.camBtn.hidden = !hasCam;
    this.micBtn.textContent = tx(this.micOn ? "mic_off" : "mic_on");
    this.micBtn.setAttribute("aria-pressed", String(!this.micOn));
    this.camBtn.textContent = tx(this.camOn ? "camera_off" : "camera_on");
    this.camBtn.setAttribute("aria-pressed", String(!this.camOn));
    this.selfVideo.hidden = !this.camOn;
  }

  private showRemote(r: RemoteMedia): void {
    let el = this.tiles.get(r.info.id);
    if (!el) {
      if (r.track.kind === "video") {
        const v = h("video", { autoplay: true, playsinline: true, "data-track": r.info.id, "data-source": r.info.source });
        v.muted = true; // audio plays from its own element
        v.srcObject = new MediaStream([r.track]);
        this.observer.observe(v);
        el = v;
      } else {
        const a = h("audio", { autoplay: true, "data-track": r.info.id });
        a.srcObject = new MediaStream([r.track]);
        el = a;
      }
      this.tiles.set(r.info.id, el);
      this.remoteBox.append(el);
    }
    el.classList.toggle("muted", !!r.info.muted);
  }

  private removeRemote(id: string): void {
    const el = this.tiles.get(id);
    if (!el) return;
    if (el instanceof HTMLVideoElement) this.observer.unobserve(el);
    el.remove();
    this.tiles.delete(id);
  }

  close(): void {
    this.observer.disconnect();
    this.local?.getTracks().forEach((tr) => tr.stop());
    this.session.close();
  }
}
