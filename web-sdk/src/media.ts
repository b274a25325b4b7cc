// MediaSession is the browser side of Lotse's media plane (docs/media.md):
// one RTCPeerConnection to the SFU carrying what the participant publishes
// and everything it receives. Negotiation is "perfect negotiation" with the
// client polite: the SFU offers subscriptions, the client offers its
// publications, and an SFU offer that collides with ours wins (our offer is
// rolled back and made again after answering). The client never offers
// before it has answered the SFU's first offer.
import type { ICEServer, MediaMsg, TrackInfo } from "./protocol";
import type { SignalClient } from "./signal";

export type Source = "camera" | "microphone" | "screen" | "screen_audio";

export interface RemoteMedia {
  info: TrackInfo;
  track: MediaStreamTrack;
  stream: MediaStream;
}

export interface MediaEvents {
  /** The room's tracks changed (published, ended, muted). */
  onTracks?(tracks: TrackInfo[]): void;
  /** A remote track can be shown (or its info changed). */
  onRemote?(r: RemoteMedia): void;
  /** A remote track ended. */
  onRemoteEnded?(trackID: string): void;
  onSpeakers?(ids: string[]): void;
  /** connecting, connected, disconnected, failed, closed. */
  onState?(state: RTCPeerConnectionState): void;
  /** The co-browse data channel opened (or closed: null). */
  onDataChannel?(dc: RTCDataChannel | null): void;
  /** The SFU asks for a fresh join (negotiation cannot recover). */
  onRejoin?(): void;
  /** The PeerConnection refused a description and cannot go on. */
  onBroken?(): void;
  onError?(reason: string): void;
}

const SIMULCAST: RTCRtpEncodingParameters[] = [
  { rid: "q", scaleResolutionDownBy: 4, maxBitrate: 150_000 },
  { rid: "h", scaleResolutionDownBy: 2, maxBitrate: 500_000 },
  { rid: "f", maxBitrate: 1_500_000 },
];

export class MediaSession {
  readonly pc: RTCPeerConnection;
  private queue: Promise<void> = Promise.resolve();
  private waitMarker = false;
  private answeredFirst = false;
  private wantOffer = false;
  private early: MediaMsg[] = [];
  private pendingCandidates: RTCIceCandidateInit[] = [];
  private tracks = new Map<string, TrackInfo>();
  private remotes = new Map<string, RemoteMedia>();
  private senders = new Map<Source, RTCRtpTransceiver>();
  private sizes = new Map<string, string>();
  private closed = false;

  constructor(
    private readonly signal: SignalClient,
    iceServers: ICEServer[],
    private readonly ev: MediaEvents = {},
    /** "relay" when the server says media must go through the TURN relay. */
    policy: RTCIceTransportPolicy = "all",
  ) {
    this.pc = new RTCPeerConnection({ iceServers: toRTC(iceServers), iceTransportPolicy: policy, bundlePolicy: "max-bundle" });
    this.pc.onicecandidate = (e) => {
      if (e.candidate) this.send({ type: "media", kind: "candidate", candidate: e.candidate.toJSON() as MediaMsg["candidate"] & object });
    };
    this.pc.onnegotiationneeded = () => void this.serial(() => this.offer()).catch((e) => console.warn("Lotse media: offer", String(e)));
    this.pc.onconnectionstatechange = () => this.ev.onState?.(this.pc.connectionState);
    this.pc.ontrack = (e) => this.onTrack(e);
    this.pc.ondatachannel = (e) => {
      const dc = e.channel;
      if (dc.label !== "lotse") return;
      dc.binaryType = "arraybuffer";
      dc.onopen = () => this.ev.onDataChannel?.(dc);
      dc.onclose = () => this.ev.onDataChannel?.(null);
      if (dc.readyState === "open") this.ev.onDataChannel?.(dc);
    };
  }

  private send(m: MediaMsg): void {
    this.signal.send(m);
  }

  /**
   * Sends m once the SFU has a peer for us, which its first offer shows:
   * the server joins us to the SFU after admission, in the background, and
   * refuses media messages that come earlier.
   */
  private sendWhenJoined(m: MediaMsg): void {
    if (this.answeredFirst) this.send(m);
    else this.early.push(m);
  }

  /**
   * Runs f after everything queued before it: descriptions are applied
   * one at a time, in the order the server sent them, with our own offers
   * in between — never two at once.
   */
  private serial(f: () => Promise<void> | void): Promise<void> {
    const run = this.queue.then(async () => {
      if (!this.closed) await f();
    });
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Hands a media message from the server to the session. */
  handle(m: MediaMsg): Promise<void> {
    return this.serial(() => this.handleNow(m));
  }

  /**
   * After asking the server for a new peer, everything up to its marker
   * (a "restart"/"rejoin" the server sends in order after the old peer's
   * last message) still belongs to the old peer and is dropped.
   */
  awaitMarker(): void {
    this.waitMarker = true;
  }

  get awaitingMarker(): boolean {
    return this.waitMarker;
  }

  private async handleNow(m: MediaMsg): Promise<void> {
    if (this.waitMarker) {
      if (m.kind === "restart" && m.reason === "rejoin") this.waitMarker = false;
      return;
    }
    try {
      switch (m.kind) {
        case "offer":
          return await this.onOffer(m.sdp ?? "");
        case "answer":
          await this.pc.setRemoteDescription({ type: "answer", sdp: m.sdp ?? "" });
          await this.flushCandidates();
          if (this.wantOffer) await this.offer();
          return;
        case "candidate":
          if (!m.candidate) return;
          if (this.pc.remoteDescription) await this.pc.addIceCandidate(m.candidate as RTCIceCandidateInit);
          else this.pendingCandidates.push(m.candidate as RTCIceCandidateInit);
          return;
        case "tracks":
          return this.onTracks(m.tracks ?? []);
        case "speakers":
          this.ev.onSpeakers?.((m.speakers ?? []).map((s) => s.participant_id));
          return;
        case "restart":
          if (m.reason === "rejoin") this.ev.onRejoin?.();
          else this.pc.restartIce();
          return;
        case "error":
          this.ev.onError?.(m.reason ?? "");
          return;
      }
    } catch (e) {
      console.warn("Lotse media:", m.kind, String(e));
      this.ev.onError?.(String(e));
      // A description this PeerConnection refused leaves it unusable:
      // start over with a new one and ask the server for a new peer.
      if (m.kind === "offer" || m.kind === "answer") this.ev.onBroken?.();
    }
  }

  private async onOffer(sdp: string): Promise<void> {
    // Polite: an SFU offer wins a collision. Our outstanding offer is
    // rolled back and made again after the answer. (Chrome remembers the
    // header-extension ids of a rolled-back offer; the SFU's first offer
    // has an audio and a video m-section so that both sides use its ids
    // from the start and a crossing offer can never renumber them.)
    if (this.pc.signalingState === "have-local-offer") {
      this.wantOffer = true;
      await this.pc.setLocalDescription({ type: "rollback" });
    }
    await this.pc.setRemoteDescription({ type: "offer", sdp });
    await this.flushCandidates();
    await this.pc.setLocalDescription();
    const answer = this.pc.localDescription;
    if (answer) this.send({ type: "media", kind: "answer", sdp: answer.sdp });
    this.answeredFirst = true;
    for (const e of this.early.splice(0)) this.send(e); // publish before our offer
    if (this.wantOffer) await this.offer();
  }

  private async flushCandidates(): Promise<void> {
    const list = this.pendingCandidates;
    this.pendingCandidates = [];
    for (const c of list) {
      try {
        await this.pc.addIceCandidate(c);
      } catch {
        /* a candidate of an older description */
      }
    }
  }

  private async offer(): Promise<void> {
    if (this.closed) return;
    if (!this.answeredFirst || this.pc.signalingState !== "stable") {
      this.wantOffer = true;
      return;
    }
    this.wantOffer = false;
    await this.pc.setLocalDescription();
    const offer = this.pc.localDescription;
    if (offer && offer.type === "offer") this.send({ type: "media", kind: "offer", sdp: offer.sdp });
  }

  private onTracks(list: TrackInfo[]): void {
    const seen = new Set<string>();
    for (const t of list) {
      seen.add(t.id);
      this.tracks.set(t.id, t);
      const r = this.remotes.get(t.id);
      if (r) {
        r.info = t;
        this.ev.onRemote?.(r);
      }
    }
    for (const id of [...this.tracks.keys()]) {
      if (!seen.has(id)) {
        this.tracks.delete(id);
        if (this.remotes.delete(id)) this.ev.onRemoteEnded?.(id);
      }
    }
    this.ev.onTracks?.(list);
  }

  private onTrack(e: RTCTrackEvent): void {
    const track = e.track;
    const stream = e.streams[0] ?? new MediaStream([track]);
    const id = track.id; // the SFU's track id (a=msid)
    const info = this.tracks.get(id) ?? { id, participant_id: stream.id.split("/")[0] ?? "", source: track.kind === "audio" ? "microphone" : "camera", kind: track.kind, stream_id: stream.id };
    const r: RemoteMedia = { info, track, stream };
    this.remotes.set(id, r);
    track.onended = () => {
      if (this.remotes.delete(id)) this.ev.onRemoteEnded?.(id);
    };
    this.ev.onRemote?.(r);
  }

  /** Publishes a track from source (simulcast for camera video). */
  publish(source: Source, track: MediaStreamTrack, stream: MediaStream): void {
    const old = this.senders.get(source);
    if (old && old.currentDirection !== "stopped") {
      void old.sender.replaceTrack(track);
      return;
    }
    const init: RTCRtpTransceiverInit = { direction: "sendonly", streams: [stream] };
    if (source === "camera") init.sendEncodings = SIMULCAST;
    const tr = this.pc.addTransceiver(track, init);
    this.senders.set(source, tr);
    this.sendWhenJoined({ type: "media", kind: "publish", publish: [{ track_id: track.id, source }] });
    // negotiationneeded follows and offers.
  }

  /** Stops publishing source (e.g. the screen share ended). */
  unpublish(source: Source): void {
    const tr = this.senders.get(source);
    if (!tr) return;
    this.senders.delete(source);
    tr.sender.track?.stop();
    tr.stop();
  }

  /** Replaces the track of a source (another camera or microphone). */
  async replace(source: Source, track: MediaStreamTrack): Promise<void> {
    const tr = this.senders.get(source);
    if (tr) await tr.sender.replaceTrack(track);
  }

  /** Mutes or unmutes a published source; everyone sees the state. */
  mute(source: Source, muted: boolean): void {
    const t = this.senders.get(source)?.sender.track;
    if (t) t.enabled = !muted;
    this.sendWhenJoined({ type: "media", kind: "mute", source, muted });
  }

  /** Tells the SFU at which size a remote video is shown (0×0: hidden). */
  showVideo(trackID: string, width: number, height: number): void {
    const key = `${Math.round(width)}x${Math.round(height)}`;
    if (this.sizes.get(trackID) === key) return;
    this.sizes.set(trackID, key);
    this.sendWhenJoined({ type: "media", kind: "video", track_id: trackID, width: Math.round(width), height: Math.round(height) });
  }

  /** Applies fresh ICE servers (new TURN credentials). */
  refreshICE(servers: ICEServer[]): void {
    this.pc.setConfiguration({ ...this.pc.getConfiguration(), iceServers: toRTC(servers) });
    this.pc.restartIce();
  }

  /** The SFU's name of a remote track and what it is. */
  info(trackID: string): TrackInfo | undefined {
    return this.tracks.get(trackID);
  }

  /** Ends the session; keepTracks leaves the local camera and microphone running (for a new session). */
  close(keepTracks = false): void {
    this.closed = true;
    if (!keepTracks) for (const tr of this.senders.values()) tr.sender.track?.stop();
    this.pc.close();
  }
}

function toRTC(list: ICEServer[]): RTCIceServer[] {
  return list.map((s) => ({ urls: s.urls, ...(s.username ? { username: s.username } : {}), ...(s.credential ? { credential: s.credential } : {}) }));
}

/** Why a camera or microphone could not be opened, as a text key. */
export function deviceError(e: unknown): "camera_denied" | "no_device" | "device_busy" | "device_error" {
  const name = e instanceof DOMException ? e.name : "";
  switch (name) {
    case "NotAllowedError":
    case "SecurityError":
      return "camera_denied";
    case "NotFoundError":
    case "OverconstrainedError":
      return "no_device";
    case "NotReadableError":
      return "device_busy";
  }
  return "device_error";
}
