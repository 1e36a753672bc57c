// Inbox answer boxes: a live character count, and typing picks "my own words".
// The server checks the limit too; without this script the page works the same.
document.querySelectorAll("textarea[data-count]").forEach(function (box) {
  var out = document.getElementById(box.dataset.count);
  var own = document.getElementById(box.dataset.free);
  function show() {
    out.textContent = Array.from(box.value.replace(/\r\n/g, "\n")).length + " / " + box.maxLength + " characters";
  }
  box.addEventListener("input", function () {
    show();
    if (own && box.value) { own.checked = true; }
  });
  show();
});
