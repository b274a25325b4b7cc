// The bank's own page script: the advice button and a small calculator.
document.getElementById("advice")?.addEventListener("click", () => window.Lotse && window.Lotse.open());
const price = document.getElementById("price");
const equity = document.getElementById("equity");
const loan = document.getElementById("loan");
function update() {
  if (!price || !equity || !loan) return;
  const v = Math.max(0, Number(price.value || 0) - Number(equity.value || 0));
  loan.textContent = v.toLocaleString("de-DE") + " €";
}
price?.addEventListener("input", update);
equity?.addEventListener("input", update);
const dialog = document.getElementById("confirm-dialog");
document.getElementById("confirm")?.addEventListener("click", () => dialog && dialog.showModal());
document.getElementById("close-dialog")?.addEventListener("click", () => dialog && dialog.close());
