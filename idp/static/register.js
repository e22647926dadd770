// Progressive enhancement of the registration form: keeps the "still required"
// summary beside the form in step with what the user has typed. Without this
// script the server renders the same summary after each submit.
(function () {
  'use strict';
  var form = document.getElementById('register-form');
  var summary = document.getElementById('missing');
  var complete = document.getElementById('complete');
  if (!form || !summary || !complete) return;
  function filled(el) {
    return el.type === 'checkbox' ? el.checked : el.value.trim() !== '';
  }
  function update() {
    var missing = 0;
    var fields = form.querySelectorAll('[data-required]');
    for (var i = 0; i < fields.length; i++) {
      var item = summary.querySelector('[data-field="' + fields[i].name + '"]');
      var done = filled(fields[i]);
      if (item) item.hidden = done;
      if (!done) missing++;
    }
    complete.hidden = missing !== 0;
  }
  form.addEventListener('input', update);
  form.addEventListener('change', update);
  update();
})();
