// Progressive enhancement: "Add a line" copies the last row with a fresh index.
  (function () {
    var next = Number(document.currentScript.dataset.nextIndex);
    document.querySelectorAll("[data-add-row]").forEach(function (button) {
      button.addEventListener("click", function () {
        var body = document.getElementById(button.dataset.addRow + "-rows");
        var last = body.rows[body.rows.length - 1];
        if (!last) { return; }
        var copy = last.cloneNode(true);
        var n = next++;
        copy.classList.remove("has-error");
        copy.querySelectorAll(".error").forEach(function (el) { el.remove(); });
        copy.querySelectorAll("[name], [id], [for]").forEach(function (el) {
          ["name", "id", "for"].forEach(function (attr) {
            var value = el.getAttribute(attr);
            if (value) { el.setAttribute(attr, value.replace(/^(weekly|override)-\d+-/, "$1-" + n + "-")); }
          });
          el.removeAttribute("aria-invalid");
          el.removeAttribute("aria-describedby");
          if (el.type === "checkbox") { el.checked = false; }
          else if (el.tagName === "INPUT") { el.value = ""; }
        });
        body.appendChild(copy);
        var first = copy.querySelector("select, input");
        if (first) { first.focus(); }
      });
    });
  })();
