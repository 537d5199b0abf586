// Hold-window countdown on the campaign page: how long until the first message leaves.
(function () {
  const el = document.getElementById("countdown");
  if (!el) return;
  const target = Date.parse(el.dataset.sendAfter);
  const tick = () => {
    const seconds = Math.max(0, Math.round((target - Date.now()) / 1000));
    el.textContent = Math.floor(seconds / 60) + ":" + String(seconds % 60).padStart(2, "0");
    if (seconds > 0) setTimeout(tick, 1000);
  };
  tick();
})();
