// The demo page's own code. It only uses the runtime's public names: Bonito.observable,
// Bonito.on_status_change, Bonito.connection_status and Bonito.stats.
(() => {
  const $ = (id) => document.getElementById(id);
  const CHUNK = 256 * 1024;
  const WINDOW = 4 * 1024 * 1024;

  const formatBytes = (n) => {
    const units = ["B", "KiB", "MiB", "GiB"];
    let i = 0;
    while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
    return `${n.toFixed(i === 0 ? 0 : 1)} ${units[i]}`;
  };
  const hex = (buffer) => [...new Uint8Array(buffer)].map((b) => b.toString(16).padStart(2, "0")).join("");
  const sha256 = async (bytes) => hex(await crypto.subtle.digest("SHA-256", bytes));

  // Which transport carries the session (the runtime knows once the connection opened; a
  // WebRTC session that could not connect falls back to the WebSocket), and its state.
  const type = Bonito.observable("connection-type").value;
  const badge = $("badge");
  const transportLabel = (t) => (t === "webrtc" ? "WebRTC data channel" : t === "websocket" ? "WebSocket" : String(t));
  const showTransport = () => {
    const transport = Bonito.stats.transport ?? type;
    const fallbackReason = Bonito.stats.fallbackReason;
    badge.textContent = fallbackReason ? `${transportLabel(transport)} (fallback)` : transportLabel(transport);
    badge.title = fallbackReason ? `WebRTC could not connect: ${fallbackReason}` : "";
    badge.className = `badge ${transport}${fallbackReason ? " fallback" : ""}`;
  };
  // "connected" only once the server's session is ready, not when the channel opens.
  const showStatus = (status, reason) => {
    const label = { open: "connected", connecting: "connecting", closed: "closed" }[status] ?? status;
    $("status").textContent = status === "closed" && reason ? `${label}: ${reason}` : label;
    $("status").className = `status ${status}`;
    showTransport();
  };
  showTransport();
  Bonito.on_status_change(showStatus);
  window.addEventListener("bonito:connection-error", (event) => {
    $("status").textContent = `failed: ${event.detail.message}`;
    $("status").className = "status closed";
  });

  // Round-trip time and traffic, once a second.
  const ping = Bonito.observable("ping");
  Bonito.observable("pong").on((stamp) => {
    $("rtt").textContent = `${(performance.now() - stamp).toFixed(1)} ms`;
  });
  setInterval(() => {
    if (Bonito.connection_status() === "open") ping.set(performance.now());
    $("sent").textContent = formatBytes(Bonito.stats.bytesSent);
    $("received").textContent = formatBytes(Bonito.stats.bytesReceived);
  }, 1000);

  // Slider → Node → plot.
  const canvas = $("plot");
  const draw = (ys) => {
    const g = canvas.getContext("2d");
    g.clearRect(0, 0, canvas.width, canvas.height);
    g.strokeStyle = "#2f7d4f";
    g.lineWidth = 2;
    g.beginPath();
    ys.forEach((y, i) => {
      const px = (i / (ys.length - 1)) * canvas.width;
      const py = canvas.height / 2 - y * (canvas.height / 2 - 8);
      i === 0 ? g.moveTo(px, py) : g.lineTo(px, py);
    });
    g.stroke();
    canvas.dataset.frequency = String(frequency.value);
    canvas.dataset.samples = String(ys.length);
    canvas.dataset.first = ys.length > 1 ? ys[1].toFixed(6) : "";
  };
  const frequency = Bonito.observable("frequency");
  const plot = Bonito.observable("plot");
  plot.on(draw);
  draw(plot.value);
  $("frequency").addEventListener("input", (event) => {
    $("frequency-value").textContent = event.target.value;
    frequency.set(Number(event.target.value));
  });

  // Upload: chunks within a window of what Node has acknowledged, then the checksum.
  const upload = Bonito.observable("upload");
  const uploadReceived = Bonito.observable("upload-received");
  const waitForAck = (atLeast) => new Promise((resolve) => {
    if (uploadReceived.value >= atLeast) return resolve();
    const off = uploadReceived.on((n) => { if (n >= atLeast) { off(); resolve(); } });
  });
  Bonito.observable("upload-result").on((result) => {
    const seconds = (performance.now() - uploadStarted) / 1000;
    const verdict = $("upload-verdict");
    verdict.className = `verdict ${result.ok ? "ok" : "bad"}`;
    verdict.textContent = `${result.ok ? "✔ SHA-256 matches" : "✘ SHA-256 differs"} · ${formatBytes(result.bytes)} in ${seconds.toFixed(2)} s ` +
      `(${(result.bytes / 1048576 / seconds).toFixed(1)} MiB/s) · ${result.actual}`;
    verdict.dataset.ok = String(result.ok);
  });
  uploadReceived.on((n) => { $("upload-progress").value = uploadSize ? n / uploadSize : 0; });
  let uploadStarted = 0;
  let uploadSize = 0;
  const sendFile = async (file) => {
    const bytes = new Uint8Array(await file.arrayBuffer());
    uploadSize = bytes.length;
    $("upload-verdict").textContent = "uploading…";
    $("upload-verdict").className = "verdict";
    delete $("upload-verdict").dataset.ok;
    const digest = sha256(bytes);
    uploadStarted = performance.now();
    upload.set({ kind: "start", name: file.name, size: bytes.length });
    for (let offset = 0; offset < bytes.length; offset += CHUNK) {
      await waitForAck(offset - WINDOW);
      // A copy per chunk: a view would keep (and send) the whole file's buffer.
      upload.set({ kind: "chunk", data: bytes.slice(offset, offset + CHUNK) });
    }
    upload.set({ kind: "end", sha256: await digest });
  };
  $("file").addEventListener("change", (event) => event.target.files[0] && sendFile(event.target.files[0]));
  const zone = $("dropzone");
  zone.addEventListener("dragover", (event) => { event.preventDefault(); zone.classList.add("over"); });
  zone.addEventListener("dragleave", () => zone.classList.remove("over"));
  zone.addEventListener("drop", (event) => {
    event.preventDefault();
    zone.classList.remove("over");
    if (event.dataTransfer.files[0]) sendFile(event.dataTransfer.files[0]);
  });

  // Download: Node streams chunks; the page checks the SHA-256 at the end.
  let parts = [];
  let expectedSize = 0;
  let got = 0;
  let downloadStarted = 0;
  Bonito.observable("download").on(async (message) => {
    if (message.kind === "start") {
      parts = []; got = 0; expectedSize = message.size; downloadStarted = performance.now();
      $("download-verdict").textContent = "downloading…";
      $("download-verdict").className = "verdict";
      delete $("download-verdict").dataset.ok;
    } else if (message.kind === "chunk") {
      parts.push(message.data);
      got += message.data.length;
      $("download-progress").value = got / expectedSize;
    } else if (message.kind === "end") {
      const seconds = (performance.now() - downloadStarted) / 1000;
      const whole = new Uint8Array(got);
      let offset = 0;
      for (const part of parts) { whole.set(part, offset); offset += part.length; }
      parts = [];
      const actual = await sha256(whole);
      const ok = actual === message.sha256 && got === expectedSize;
      const verdict = $("download-verdict");
      verdict.className = `verdict ${ok ? "ok" : "bad"}`;
      verdict.textContent = `${ok ? "✔ SHA-256 matches" : "✘ SHA-256 differs"} · ${formatBytes(got)} in ${seconds.toFixed(2)} s ` +
        `(${(got / 1048576 / seconds).toFixed(1)} MiB/s) · ${actual}`;
      verdict.dataset.ok = String(ok);
    }
  });
  $("download").addEventListener("click", () => {
    Bonito.observable("download-request").set(Number($("download-size").value));
  });
})();
