// Template and step pages: the preview follows the form as it changes (the text and the preview
// settings of a template; the template, channels and timing of a step), 400 ms after the last
// key, from the same server code as the Preview button, which works without this script. The
// server answers with the pieces to replace, each marked data-slot.
(function () {
  var form = document.querySelector("form[data-live]");
  if (!form) { return; }
  var status = document.getElementById("live-status");
  var timer = null;
  var latest = 0;

  function swap(html) {
    var holder = document.createElement("template");
    holder.innerHTML = html;
    holder.content.querySelectorAll("[data-slot]").forEach(function (fresh) {
      var old = document.getElementById(fresh.id);
      if (!old) { return; }
      old.replaceWith(fresh);
      var control = fresh.dataset.for && document.getElementById(fresh.dataset.for);
      if (!control) { return; }
      if (fresh.dataset.invalid === "true") {
        control.setAttribute("aria-invalid", "true");
      } else {
        control.removeAttribute("aria-invalid");
      }
    });
  }

  function update() {
    var mine = ++latest;
    var data = new FormData(form);
    data.delete("action");
    form.setAttribute("aria-busy", "true");
    fetch(form.dataset.live, { method: "POST", body: data, credentials: "same-origin" })
      .then(function (response) {
        return response.text().then(function (html) {
          if (mine !== latest) { return; }
          if (response.status === 200 || response.status === 400) {
            swap(html);
            status.textContent = "";
          } else {
            status.textContent = "The live preview stopped: reload the page, or use Preview.";
          }
        });
      })
      .catch(function () {
        if (mine === latest) { status.textContent = "The live preview is not reachable: use Preview."; }
      })
      .finally(function () {
        if (mine === latest) { form.removeAttribute("aria-busy"); }
      });
  }

  function later(event) {
    if (event.target.name === "reason") { return; }
    clearTimeout(timer);
    timer = setTimeout(update, 400);
  }
  form.addEventListener("input", later);
  form.addEventListener("change", later);
})();
