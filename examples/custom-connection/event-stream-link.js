// The page side of EventStreamConnection, served at /bonito/event-stream-link.js: frames from
// the server arrive as Server-Sent Events (base64), frames to it go out as POSTs, one at a
// time so they arrive in order. It talks to the runtime only through Bonito's contract.
window.BonitoEventStream = {
  connect(base, Bonito, compression) {
    const source = new EventSource(base + "events");
    let posting = Promise.resolve();
    const send = (bytes) => {
      posting = posting
        .then(() => fetch(base + "send", { method: "POST", body: bytes }))
        .then((response) => {
          if (!response.ok) throw new Error(`the server refused a frame: HTTP ${response.status}`);
        })
        .catch((error) => {
          console.error("bonito: event stream send failed:", error);
          source.close();
          Bonito.on_connection_close();
        });
      // Anything but false/undefined tells the runtime the frame was taken.
      return true;
    };
    source.onopen = () => Bonito.on_connection_open(send, compression);
    source.onmessage = (event) => {
      const bytes = Uint8Array.from(atob(event.data), (c) => c.charCodeAt(0));
      Bonito.lock_loading(() => Bonito.process_message(Bonito.decode_binary(bytes, compression)));
    };
    // EventSource would retry on its own; this example treats a lost stream as the end.
    source.onerror = () => {
      source.close();
      Bonito.on_connection_close();
    };
  },
};
