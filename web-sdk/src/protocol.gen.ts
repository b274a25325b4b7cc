// Code generated from signaling/wire by `go test ./signaling/wire -update`. DO NOT EDIT.
// The Go types in signaling/wire are the source of truth; docs/protocol.md explains them.

export const PROTOCOL_VERSION = 1;
export const MAX_MESSAGE_BYTES = 65536;

export interface ChatMessage {
  message_id: string;
  from: string;
  name: string;
  text: string;
  at: string /* RFC 3339 */;
}

export interface Consent {
  camera: boolean;
  microphone: boolean;
  cobrowse: boolean;
  terms: boolean;
}

export interface ConversationInfo {
  id: string;
  state: string;
  subject?: string;
}

export interface ICECandidate {
  candidate: string;
  sdpMid?: string;
  sdpMLineIndex?: number;
  usernameFragment?: string;
}

export interface ICEServer {
  urls: string[];
  username?: string;
  credential?: string;
}

export interface Participant {
  id: string;
  role: string;
  name: string;
  state: string;
  connected: boolean;
  consent?: Consent;
  joined_at: string /* RFC 3339 */;
}

export interface Publication {
  mid?: string;
  track_id?: string;
  source: string;
}

export interface ResumeInfo {
  session_id: string;
  resume_token: string;
  last_seq: number;
}

export interface Speaker {
  participant_id: string;
  level: number;
}

export interface TrackInfo {
  id: string;
  participant_id: string;
  source: string;
  kind: string;
  muted?: boolean;
  simulcast?: boolean;
  stream_id: string;
  codec?: string;
}

export interface AdmitMsg {
  type: "admit";
  id?: string;
  seq?: number;
  participant_id: string;
}

export interface ChatMsg {
  type: "chat";
  id?: string;
  seq?: number;
  text: string;
}

export interface ChatDeliveredMsg {
  type: "chat_delivered";
  id?: string;
  seq?: number;
  message: ChatMessage;
}

export interface ConversationEndedMsg {
  type: "conversation_ended";
  id?: string;
  seq?: number;
  reason: string;
}

export interface EndMsg {
  type: "end";
  id?: string;
  seq?: number;
}

export interface ErrorMsg {
  type: "error";
  id?: string;
  seq?: number;
  code: string;
  message: string;
  ref?: string;
}

export interface IceServersMsg {
  type: "ice_servers";
  id?: string;
  seq?: number;
  ice_servers: ICEServer[];
}

export interface JoinMsg {
  type: "join";
  id?: string;
  seq?: number;
  token: string;
  resume?: ResumeInfo;
}

export interface JoinedMsg {
  type: "joined";
  id?: string;
  seq?: number;
  session_id: string;
  resume_token: string;
  resumed: boolean;
  self: Participant;
  conversation: ConversationInfo;
  participants: Participant[];
  chat: ChatMessage[];
  ice_servers: ICEServer[];
  ice_transport_policy?: string;
  ping_interval_ms: number;
}

export interface LeaveMsg {
  type: "leave";
  id?: string;
  seq?: number;
}

export interface MediaMsg {
  type: "media";
  id?: string;
  seq?: number;
  kind: string;
  sdp?: string;
  candidate?: ICECandidate;
  tracks?: TrackInfo[];
  speakers?: Speaker[];
  publish?: Publication[];
  track_id?: string;
  source?: string;
  muted?: boolean;
  width?: number;
  height?: number;
  reason?: string;
}

export interface ParticipantJoinedMsg {
  type: "participant_joined";
  id?: string;
  seq?: number;
  participant: Participant;
}

export interface ParticipantLeftMsg {
  type: "participant_left";
  id?: string;
  seq?: number;
  participant_id: string;
  reason: string;
}

export interface ParticipantUpdatedMsg {
  type: "participant_updated";
  id?: string;
  seq?: number;
  participant: Participant;
}

export interface PingMsg {
  type: "ping";
  id?: string;
  seq?: number;
}

export interface PongMsg {
  type: "pong";
  id?: string;
  seq?: number;
}

export interface ReconnectMsg {
  type: "reconnect";
  id?: string;
  seq?: number;
  reason: string;
  after_ms: number;
}

export interface RemoveMsg {
  type: "remove";
  id?: string;
  seq?: number;
  participant_id: string;
}

export interface TypingMsg {
  type: "typing";
  id?: string;
  seq?: number;
  active: boolean;
}

export interface TypingUpdateMsg {
  type: "typing_update";
  id?: string;
  seq?: number;
  participant_id: string;
  active: boolean;
}

export interface UpdateConsentMsg {
  type: "update_consent";
  id?: string;
  seq?: number;
  consent: Consent;
}

/** Messages the client sends. */
export type ClientMessage =
  | AdmitMsg
  | ChatMsg
  | EndMsg
  | JoinMsg
  | LeaveMsg
  | MediaMsg
  | PingMsg
  | RemoveMsg
  | TypingMsg
  | UpdateConsentMsg;

/** Messages the server sends. */
export type ServerMessage =
  | ChatDeliveredMsg
  | ConversationEndedMsg
  | ErrorMsg
  | IceServersMsg
  | JoinedMsg
  | MediaMsg
  | ParticipantJoinedMsg
  | ParticipantLeftMsg
  | ParticipantUpdatedMsg
  | PongMsg
  | ReconnectMsg
  | TypingUpdateMsg;
