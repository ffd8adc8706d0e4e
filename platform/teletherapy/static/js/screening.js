/* One question per screen on small screens. Without this script every question shows. */
(function () {
  "use strict";
  var form = document.querySelector("[data-questionnaire]");
  if (!form || !window.matchMedia("(max-width: 40rem)").matches) { return; }
  var steps = Array.prototype.slice.call(form.querySelectorAll("[data-step]"));
  var submit = form.querySelector("[data-submit]");
  var nav = form.querySelector(".step-nav");
  var back = document.createElement("button");
  var next = document.createElement("button");
  back.type = "button"; back.className = "button"; back.textContent = form.getAttribute("data-back-label") || "Back";
  next.type = "button"; next.className = "button primary"; next.textContent = form.getAttribute("data-next-label") || "Next";
  nav.insertBefore(back, submit); nav.insertBefore(next, submit);
  var firstError = form.querySelector(".has-error[data-step]");
  var current = firstError ? steps.indexOf(firstError) : 0;

  function show(index, focus) {
    current = index;
    steps.forEach(function (step, i) { step.hidden = i !== index; });
    back.hidden = index === 0;
    next.hidden = index === steps.length - 1;
    submit.hidden = index !== steps.length - 1;
    if (focus) {
      steps[index].setAttribute("tabindex", "-1");
      steps[index].focus();
    }
  }
  next.addEventListener("click", function () { show(Math.min(current + 1, steps.length - 1), true); });
  back.addEventListener("click", function () { show(Math.max(current - 1, 0), true); });
  show(current, false);
})();
