// The SDK's version, injected by build.mjs from package.json.
declare const __LOTSE_SDK_VERSION__: string;

/** The version of this SDK build, e.g. "0.1.0". */
export const SDK_VERSION: string = __LOTSE_SDK_VERSION__;
