// The customer SDK: the script a bank embeds with
//   <script src="https://lotse.example-bank.de/sdk/v1/lotse.js" data-site-key="pk_..."></script>
// It defines exactly one global, `Lotse`, and touches nothing else on the
// host page.
import { PROTOCOL_VERSION } from "./protocol";
import { SDK_VERSION } from "./version";

/** The public surface of window.Lotse. */
export interface LotseGlobal {
  readonly version: string;
  readonly protocolVersion: number;
}

const api: LotseGlobal = Object.freeze({
  version: SDK_VERSION,
  protocolVersion: PROTOCOL_VERSION,
});

declare global {
  interface Window {
    Lotse: LotseGlobal;
  }
}

if (!("Lotse" in window)) {
  Object.defineProperty(window, "Lotse", { value: api, enumerable: false, configurable: false, writable: false });
}
