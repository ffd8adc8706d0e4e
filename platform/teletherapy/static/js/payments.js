/* The pay page: save a card with confirmCardSetup, let the server charge it, and
 * complete 3-D Secure with confirmCardPayment when the bank asks. The server, not
 * this page, decides whether a payment succeeded (it asks Stripe). */
(function () {
  "use strict";
  var script = document.currentScript;
  var stripe = Stripe(script.dataset.publishableKey);
  var csrf = document.querySelector('meta[name="csrf-token"]').content;
  var statusBox = document.getElementById("pay-status");

  function show(message, isError) {
    statusBox.hidden = false;
    statusBox.textContent = message;
    statusBox.className = "flash " + (isError ? "flash-error" : "flash-success");
  }

  function post(url, body) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-CSRFToken": csrf},
      body: JSON.stringify(body || {})
    }).then(function (response) {
      return response.json().catch(function () { return {status: "error", message: "Unexpected answer."}; });
    });
  }

  function finish(result, verifyUrl) {
    if (result.status === "requires_action" && result.client_secret) {
      return stripe.confirmCardPayment(result.client_secret).then(function () {
        // Whatever the page was told, the server asks Stripe.
        return post(verifyUrl).then(function (verified) { return finish(verified, null); });
      });
    }
    if (result.status === "succeeded" || result.status === "saved") {
      show(result.message || "Done.", false);
      if (result.next) { setTimeout(function () { window.location.assign(result.next); }, 1500); }
      return null;
    }
    throw {message: result.message || "The payment did not go through."};
  }

  var confirmButton = document.getElementById("confirm-payment");
  if (confirmButton) {
    confirmButton.addEventListener("click", function () {
      confirmButton.disabled = true;
      Promise.resolve().then(function () {
        return finish({status: "requires_action", client_secret: confirmButton.dataset.clientSecret},
                      script.dataset.verifyUrl);
      }).catch(function (problem) {
        show((problem && problem.message) || "The payment did not go through.", true);
      }).then(function () { confirmButton.disabled = false; });
    });
  }

  Array.prototype.forEach.call(document.querySelectorAll("form.card-form"), function (form) {
    var elements = stripe.elements();
    var card = elements.create("card");
    card.mount(form.querySelector(".card-element"));
    var errorBox = form.querySelector(".error");
    var button = form.querySelector("button[type=submit]");
    var method = form.dataset.method;

    form.addEventListener("submit", function (event) {
      event.preventDefault();
      button.disabled = true;
      errorBox.hidden = true;
      show("Working…", false);
      post(form.dataset.setupUrl, {method: method}).then(function (setup) {
        if (setup.status !== "ok") { throw {message: setup.message}; }
        return stripe.confirmCardSetup(setup.client_secret, {payment_method: {card: card}});
      }).then(function (result) {
        if (result.error) { throw {message: result.error.message || "Your card was not accepted."}; }
        var pm = result.setupIntent.payment_method;
        return post(form.dataset.cardUrl, {method: method, payment_method_id: pm.id || pm});
      }).then(function (result) {
        return finish(result, form.dataset.verifyUrl);
      }).catch(function (problem) {
        var message = (problem && problem.message) || "Something went wrong. Please try again.";
        errorBox.textContent = message;
        errorBox.hidden = false;
        show(message, true);
      }).then(function () { button.disabled = false; });
    });
  });
})();
