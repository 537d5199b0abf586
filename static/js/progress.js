// Live delivery progress on the campaign page: polls the JSON endpoint, no reload.
(function () {
  const section = document.getElementById("progress");
  if (!section) return;
  const bar = (id, n, total) => {
    const el = document.getElementById(id);
    if (el) el.style.width = total ? (100 * n / total) + "%" : "0";
  };
  const show = (data) => {
    for (const [status, n] of Object.entries(data.counts)) {
      const el = document.getElementById("count-" + status);
      if (el) el.textContent = n;
    }
    bar("progress-sent", data.counts.sent, data.total);
    bar("progress-failed", data.counts.failed, data.total);
    bar("progress-doubt", data.counts.in_doubt, data.total);
    const rate = document.getElementById("send-rate");
    if (rate) rate.textContent = data.rate_per_second || "—";
    const eta = document.getElementById("send-eta");
    if (eta) eta.textContent = data.eta_seconds == null ? "—"
      : Math.floor(data.eta_seconds / 60) + ":" + String(data.eta_seconds % 60).padStart(2, "0");
    const badge = document.querySelector("#campaign-state .badge");
    if (badge) { badge.textContent = data.state_label; badge.dataset.state = data.state; }
    return data.state === "approved" || data.state === "sending";
  };
  const poll = () => fetch(section.dataset.url, {credentials: "same-origin"})
    .then((r) => r.json())
    .then((data) => { if (show(data)) setTimeout(poll, 2000); })
    .catch(() => setTimeout(poll, 5000));
  poll();
})();
