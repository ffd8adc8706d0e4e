// Confirm page: keep the weekly series total in step with the "How often" choice.
(function () {
  "use strict";
  var total = document.getElementById("series-total");
  var texts = document.getElementById("series-total-text");
  var repeat = document.getElementById("repeat");
  if (!total || !texts || !repeat) { return; }
  var price = parseInt(texts.getAttribute("data-price-cents"), 10);
  var lang = document.documentElement.lang || "en";
  function money(cents) {
    var whole = cents % 100 === 0;
    return new Intl.NumberFormat(lang, {
      style: "currency", currency: "USD",
      minimumFractionDigits: whole ? 0 : 2, maximumFractionDigits: whole ? 0 : 2
    }).format(cents / 100);
  }
  repeat.addEventListener("change", function () {
    var n = parseInt(repeat.value, 10) || 1;
    total.textContent = n > 1
      ? texts.getAttribute("data-many").replace("{count}", String(n)).replace("{total}", money(price * n))
      : texts.getAttribute("data-one");
  });
}());
