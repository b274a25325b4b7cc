// The bank's own script: a web component with an open shadow root, a
// modal, a counter. (The viewer never runs it.)
class BankWidget extends HTMLElement {
  constructor() {
    super();
    const root = this.attachShadow({ mode: "open" });
    root.innerHTML = '<style>p{color:#0b5cad;margin:4px 0}</style>' +
      '<p id="shadow-text">Sparziel: Urlaub 2027</p>' +
      '<label>Sparbetrag <input id="shadow-amount"></label> ' +
      '<label>Geheimzahl <input id="shadow-pin" data-lotse-mask></label>';
  }
}
customElements.define("bank-widget", BankWidget);
document.getElementById("counter-btn").addEventListener("click", () => {
  const c = document.getElementById("counter");
  c.textContent = String(Number(c.textContent) + 1);
});
document.getElementById("open-modal").addEventListener("click", () => { document.getElementById("modal").hidden = false; });
document.getElementById("close-modal").addEventListener("click", () => { document.getElementById("modal").hidden = true; });
document.getElementById("transfer").addEventListener("submit", (e) => e.preventDefault());
