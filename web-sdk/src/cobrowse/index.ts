// Lotse co-browsing in the browser. The customer SDK calls startCapture
// (and resumeState on each page load); the advisor console calls
// startViewer. Both exchange protocol frames (protocol.ts) with the relay
// through whatever transport signalling provides.
export { type CaptureOptions, type CaptureSession, type CaptureState, type CaptureStats, type Send, resumeState, startCapture } from "./capture";
export { type MaskRules, PLACEHOLDER } from "./mask";
export { type ViewerMode, type ViewerOptions, type ViewerSession, type ViewerState, FRAME_CSP, startViewer } from "./viewer";
export { DATA_CHANNEL_MESSAGE_BYTES, WEBSOCKET_MESSAGE_BYTES, PROTOCOL_VERSION } from "./protocol";
