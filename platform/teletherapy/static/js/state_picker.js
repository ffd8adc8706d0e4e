// Profile editor: filter a long list of state checkboxes as you type, and list the chosen ones.
(function () {
  "use strict";
  document.querySelectorAll("[data-state-picker]").forEach(function (picker) {
    var filter = picker.querySelector(".state-filter");
    var chosen = picker.querySelector(".chosen-list");
    var boxes = Array.prototype.slice.call(picker.querySelectorAll("input[type=checkbox]"));
    var none = chosen ? chosen.textContent : "";
    function showChosen() {
      if (!chosen) { return; }
      var codes = boxes.filter(function (b) { return b.checked; }).map(function (b) { return b.value; });
      chosen.textContent = codes.length ? codes.join(", ") : none;
    }
    if (filter) {
      filter.addEventListener("input", function () {
        var wanted = filter.value.trim().toLowerCase();
        boxes.forEach(function (box) {
          var label = box.closest("label");
          var text = (label ? label.textContent : box.value).toLowerCase();
          var show = !wanted || text.indexOf(wanted) !== -1 || box.value.toLowerCase() === wanted;
          if (label) { label.hidden = !show; }
        });
      });
    }
    boxes.forEach(function (box) { box.addEventListener("change", showChosen); });
  });
}());
