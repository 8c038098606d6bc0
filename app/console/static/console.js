// A refusal on a handheld must be heard as well as seen: a low buzz, and a vibration where supported.
(function () {
  function buzz() {
    try {
      var Ctx = window.AudioContext || window.webkitAudioContext;
      if (!Ctx) return;
      var ctx = new Ctx(), osc = ctx.createOscillator(), gain = ctx.createGain();
      osc.type = "square"; osc.frequency.value = 180; gain.gain.value = 0.2;
      osc.connect(gain); gain.connect(ctx.destination); osc.start(); osc.stop(ctx.currentTime + 0.6);
    } catch (e) { /* no audio: the red banner still shows */ }
    if (navigator.vibrate) navigator.vibrate([300, 100, 300]);
  }
  function check() { if (document.querySelector(".refusal")) buzz(); }
  document.addEventListener("DOMContentLoaded", check);
  document.addEventListener("htmx:afterSettle", check);
})();
// A step that ends further down the page (the order form's quote) marks where to land.
(function () {
  function land() {
    var here = document.querySelector("[data-scroll-here]");
    if (!here) return;
    here.scrollIntoView();
    (document.querySelector("[data-focus-here]") || here).focus({ preventScroll: true });
  }
  document.addEventListener("DOMContentLoaded", land);
  document.addEventListener("htmx:afterSettle", land);
})();
