// The widget's styles live inside its shadow root: the bank's CSS cannot
// reach in, and these rules cannot leak out.
export const widgetCSS = `
:host { all: initial; }
.root { all: initial; position: fixed; z-index: 2147483000; right: 16px; bottom: 16px; width: min(380px, calc(100vw - 32px));
  max-height: min(640px, calc(100vh - 32px)); display: flex; flex-direction: column; box-sizing: border-box;
  font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #14171a; background: #fff;
  border: 1px solid #c9ced6; border-radius: 12px; box-shadow: 0 8px 30px rgba(0,0,0,.18); overflow: hidden; }
.root.page { position: static; width: min(560px, 100%); max-height: none; margin: 2rem auto; }
.root * { box-sizing: border-box; font: inherit; }
.bar { display: flex; align-items: center; gap: 8px; padding: 10px 12px; background: #0b3d6e; color: #fff; cursor: move; user-select: none; }
.root.page .bar { cursor: default; }
.bar h2 { flex: 1; margin: 0; font-size: 15px; font-weight: 600; }
.bar button { background: transparent; color: #fff; border: 1px solid rgba(255,255,255,.5); border-radius: 6px; padding: 2px 8px; cursor: pointer; }
.body { padding: 12px; overflow: auto; flex: 1; display: flex; flex-direction: column; gap: 10px; }
label { display: block; }
label.check { display: flex; gap: 8px; align-items: flex-start; }
input[type=text], input[inputmode] { display: block; width: 100%; margin-top: 4px; padding: 8px; border: 1px solid #8a94a3; border-radius: 6px; background: #fff; color: #14171a; }
input[type=checkbox] { margin-top: 3px; width: 18px; height: 18px; flex: none; }
button.primary { background: #0b5cad; color: #fff; border: 0; border-radius: 6px; padding: 9px 14px; cursor: pointer; font-weight: 600; }
button.secondary { background: #fff; color: #0b5cad; border: 1px solid #0b5cad; border-radius: 6px; padding: 7px 12px; cursor: pointer; }
button:disabled { opacity: .6; cursor: default; }
:focus-visible { outline: 3px solid #f0a500; outline-offset: 2px; }
.error { background: #fde8e8; color: #8a1010; padding: 8px 10px; border-radius: 6px; }
.status { background: #eef4fb; padding: 8px 10px; border-radius: 6px; }
.chat { display: flex; flex-direction: column; gap: 6px; min-height: 120px; max-height: 260px; overflow-y: auto; border: 1px solid #dde2e8; border-radius: 8px; padding: 8px; }
.msg { max-width: 85%; padding: 6px 9px; border-radius: 10px; background: #f1f3f6; align-self: flex-start; white-space: pre-wrap; overflow-wrap: anywhere; }
.msg.mine { background: #dcebfb; align-self: flex-end; }
.msg .who { display: block; font-size: 12px; color: #4a5462; }
.composer { display: flex; gap: 6px; }
.composer input { margin-top: 0; }
.typing { font-size: 12px; color: #4a5462; min-height: 1.2em; }
.row { display: flex; gap: 8px; flex-wrap: wrap; align-items: center; }
.video { position: relative; display: flex; flex-direction: column; gap: 6px; }
.video .remote { position: relative; min-height: 0; background: #0f1720; border-radius: 8px; overflow: hidden; display: grid; }
.video .remote:empty { display: none; }
.video .remote video { width: 100%; aspect-ratio: 16 / 9; object-fit: cover; display: block; }
.video .remote video.muted { opacity: .35; }
.video video.self { position: absolute; right: 8px; top: 8px; width: 28%; aspect-ratio: 16 / 9; object-fit: cover; border: 2px solid #fff; border-radius: 6px; background: #222; }
.video .remote:empty + video.self { position: static; width: 40%; }
.video audio { display: none; }
.min .body { display: none; }
.min { width: auto; }
@media (prefers-color-scheme: dark) {
  .root { color: #e8eaed; background: #1e2227; border-color: #3a4048; }
  input[type=text], input[inputmode] { background: #14171a; color: #e8eaed; }
  .msg { background: #2a3038; } .msg.mine { background: #163a5f; } .msg .who, .typing { color: #aab2bd; }
  .status { background: #1b2a3a; } .error { background: #4a1616; color: #ffd6d6; }
  button.secondary { background: #1e2227; }
}
`;
