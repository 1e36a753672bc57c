// Today, the Inbox and an open escalation reload themselves about every 30 s, so what happened
// in the night is on the screen without anyone pressing a key. Never while someone is working
// on the page: a focused field, typed or changed input, or an opened answer box pauses it (a
// reload would lose a half-written outcome). Without this script, the "Refresh" link beside
// "Updated HH:MM" does the same by hand.
(function () {
  var marker = document.getElementById("auto-refresh");
  if (!marker) { return; }
  var seconds = parseInt(marker.dataset.refresh, 10) || 30;
  var note = document.getElementById("refresh-note");
  var running = "(refreshes every " + seconds + " s)";
  var paused = "(automatic refresh paused while you type)";

  function changed(field) {
    if (field.type === "hidden" || field.type === "submit" || field.type === "button") { return false; }
    if (field.type === "checkbox" || field.type === "radio") { return field.checked !== field.defaultChecked; }
    if (field.tagName === "SELECT") {
      return Array.prototype.some.call(field.options, function (o) { return o.selected !== o.defaultSelected; });
    }
    return field.value !== field.defaultValue;
  }

  function busy() {
    var active = document.activeElement;
    if (active && active.matches && active.matches("input, textarea, select, button") && active.form) {
      return true;
    }
    if (document.querySelector("main details[open]")) { return true; }
    return Array.prototype.some.call(document.querySelectorAll("main input, main textarea, main select"), changed);
  }

  function tick() {
    if (busy()) {
      if (note) { note.textContent = paused; }
      setTimeout(tick, 5000);  // look again soon: the reload follows once the form is left alone
      return;
    }
    window.location.reload();
  }

  if (note) { note.textContent = running; }
  document.addEventListener("input", function () { if (note) { note.textContent = paused; } });
  setTimeout(tick, seconds * 1000);
})();
