// The live and practice pages: microphone -> AudioWorklet (16 kHz PCM16) -> /ws/speech/ through
// the htmx ws extension, which swaps the server's transcript (and score) fragments into the page.
// The practice page sets data-mode="assess": it sends the sentence to read, and stops recording
// by itself when the server sends `endpoint`.
const root = document.getElementById("recorder");
const mode = root.dataset.mode || "transcribe";
const expectedInput = document.getElementById("expected-text");
const exerciseInput = document.getElementById("exercise-id");
const recordButton = document.getElementById("record");
const commitButton = document.getElementById("commit");
const elapsedLabel = document.getElementById("elapsed");
const levelMeter = document.getElementById("level");
const notices = document.getElementById("notices");
const socketHost = document.getElementById("socket-host");
const providerSelect = document.getElementById("provider");
const languageSelect = document.getElementById("language");
const strategySelect = document.getElementById("commit-strategy");
const settingSelects = [providerSelect, languageSelect, strategySelect, expectedInput].filter(Boolean);

let session = null; // the recording in progress, or null

function notify(message, kind = "error") {
  const p = document.createElement("p");
  p.className = `notice notice-${kind}`;
  p.setAttribute("role", kind === "error" ? "alert" : "status");
  p.textContent = message;
  notices.append(p);
}

function setStatus(state, message) {
  const status = document.getElementById("session-status");
  status.dataset.state = state;
  status.className = `status status-${state}`;
  status.textContent = message;
}

function microphoneProblem(error) {
  if (!window.isSecureContext) {
    return "The microphone only works on a secure page: open this site over https, or at http://localhost.";
  }
  switch (error && error.name) {
    case "NotAllowedError":
    case "SecurityError":
      return "Microphone access was denied. Allow the microphone for this site in the browser's address bar, then press Record again.";
    case "NotFoundError":
    case "OverconstrainedError":
      return "No microphone was found. Connect one (or check the system's input settings) and press Record again.";
    case "NotReadableError":
      return "The microphone is busy or failed. Close other programs using it and try again.";
    default:
      return `The microphone could not be started${error && error.message ? `: ${error.message}` : "."}`;
  }
}

function formatElapsed(ms) {
  const seconds = Math.floor(ms / 1000);
  return `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, "0")}`;
}

async function startRecording() {
  if (!window.isSecureContext || !navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    notify(microphoneProblem(null));
    return;
  }
  recordButton.disabled = true;
  let stream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({
      audio: { echoCancellation: false, noiseSuppression: false, autoGainControl: false, channelCount: 1 },
    });
  } catch (error) {
    recordButton.disabled = false;
    notify(microphoneProblem(error));
    return;
  }
  let context, source, worklet;
  try {
    context = new AudioContext();
    await context.audioWorklet.addModule(root.dataset.workletUrl);
    source = context.createMediaStreamSource(stream);
    worklet = new AudioWorkletNode(context, "pcm-worklet");
  } catch (error) {
    stream.getTracks().forEach((track) => track.stop());
    if (context) context.close();
    recordButton.disabled = false;
    notify(`This browser could not start audio processing: ${error.message}`);
    return;
  }
  const mute = context.createGain();
  mute.gain.value = 0; // keep the graph pulled without playing the microphone back
  source.connect(worklet).connect(mute).connect(context.destination);

  const expectedText = expectedInput ? expectedInput.value.trim() : "";
  // A provider that scores free speech (ELSA) may go without a sentence; the embedded engine may not.
  const unscripted = providerSelect?.selectedOptions[0]?.dataset.unscripted === "true";
  if (mode === "assess" && !expectedText && !unscripted) {
    stream.getTracks().forEach((track) => track.stop());
    context.close();
    recordButton.disabled = false;
    notify("Type or choose a sentence to read first.");
    return;
  }
  document.getElementById("segments").replaceChildren();
  document.getElementById("partial").textContent = "";
  document.getElementById("endpoint").removeAttribute("data-endpoint");
  const assessmentHost = document.getElementById("assessment");
  if (assessmentHost) assessmentHost.replaceChildren();
  notices.replaceChildren();
  const socketElt = document.createElement("div");
  socketElt.setAttribute("hx-ext", "ws");
  socketElt.setAttribute("ws-connect", root.dataset.wsUrl);
  const strategy = strategySelect ? strategySelect.value : "vad";
  session = { stream, context, source, worklet, socketElt, socket: null, pending: [], startedAt: Date.now(), stopping: false };
  const current = session;

  socketElt.addEventListener("htmx:wsOpen", (event) => {
    if (current.closed) {
      // After an abnormal close the ws extension reconnects even though socketElt was removed.
      // This session is over: hang up rather than start a second, empty recording.
      event.detail.event.target.close(1000);
      return;
    }
    current.socket = event.detail.socketWrapper;
    const start = {
      type: "start", mode, format: "html", sample_rate: 16000, language: languageSelect ? languageSelect.value : "en",
      provider: providerSelect ? providerSelect.value : "local", commit_strategy: strategy,
    };
    if (mode === "assess" && expectedText) {
      start.expected_text = expectedText;
      // The exercise is credited only while its sentence is the one being read.
      if (exerciseInput && exerciseInput.value && exerciseInput.dataset.text === expectedText) {
        start.exercise_id = Number(exerciseInput.value);
      }
    }
    current.socket.send(JSON.stringify(start));
    for (const chunk of current.pending) current.socket.send(chunk);
    current.pending = [];
    // Stop was pressed and the last chunk flushed before the socket opened: the stop is still owed.
    if (current.flushed) current.socket.send(JSON.stringify({ type: "stop" }));
  });
  socketElt.addEventListener("htmx:wsAfterMessage", () => {
    // The server heard the whole sentence (or a long pause): stop as if Stop had been pressed.
    if (document.getElementById("endpoint").dataset.endpoint && session === current) stopRecording();
    const state = document.getElementById("session-status").dataset.state;
    if (state === "failed" || state === "ended") finish(current);
  });
  socketElt.addEventListener("htmx:wsClose", (event) => {
    if (current.closed) return; // the hang-up above
    current.closed = true;
    const code = event.detail.event.code;
    const state = document.getElementById("session-status").dataset.state;
    if (code === 4401) notify("You are signed out. Sign in again, then press Record.");
    // A session the server ended itself (4429 at the quota, after session_ended) was saved, not lost.
    else if (code !== 1000 && !current.stopping && state !== "failed" && state !== "ended") {
      notify("The connection to the server was lost; what was received so far is saved.");
    }
    // Closed without session_ended or a fatal error (dropped, signed out): don't go on showing "Listening…".
    if (state !== "ended" && state !== "failed") setStatus("failed", "Stopped.");
    socketElt.remove(); // stops further reconnects (one already scheduled is hung up in wsOpen)
    finish(current);
  });
  socketHost.append(socketElt);
  htmx.process(socketElt);

  worklet.port.onmessage = ({ data }) => {
    if (data.pcm) {
      if (current.socket) current.socket.send(data.pcm);
      else current.pending.push(data.pcm);
      levelMeter.value = Math.min(1, data.level * 4);
    }
    if (data.flushed && !current.flushed) {
      current.flushed = true;
      if (current.socket) current.socket.send(JSON.stringify({ type: "stop" }));
      releaseMicrophone(current);
    }
  };
  current.timer = setInterval(() => { elapsedLabel.textContent = formatElapsed(Date.now() - current.startedAt); }, 250);
  setStatus("connecting", "Connecting…");
  recordButton.textContent = "Stop";
  recordButton.setAttribute("aria-pressed", "true");
  recordButton.disabled = false;
  if (commitButton) commitButton.disabled = strategy !== "manual";
  settingSelects.forEach((select) => { select.disabled = true; });
}

function releaseMicrophone(current) {
  if (current.released) return;
  current.released = true;
  clearInterval(current.timer);
  current.source.disconnect();
  current.stream.getTracks().forEach((track) => track.stop());
  current.context.close();
  levelMeter.value = 0;
}

function stopRecording() {
  const current = session;
  if (!current || current.stopping) return;
  current.stopping = true;
  current.source.disconnect(); // no more microphone input; then flush the worklet's last chunk
  current.worklet.port.postMessage("flush");
  setStatus("stopping", "Finishing…");
  recordButton.textContent = "Record";
  recordButton.removeAttribute("aria-pressed");
  recordButton.disabled = true; // until the server has saved this recording
  if (commitButton) commitButton.disabled = true;
  setTimeout(() => {
    // The worklet never answered the flush: stop without its last partial chunk.
    if (current.flushed) return;
    current.flushed = true;
    if (current.socket) current.socket.send(JSON.stringify({ type: "stop" }));
    releaseMicrophone(current);
  }, 1000);
}

function finish(current) {
  releaseMicrophone(current);
  if (session === current) session = null;
  recordButton.textContent = "Record";
  recordButton.removeAttribute("aria-pressed");
  recordButton.disabled = false;
  if (commitButton) commitButton.disabled = true;
  settingSelects.forEach((select) => { select.disabled = false; });
}

// Offer only what the chosen provider supports: its languages, and manual commits if it has them.
function fitOptionsToProvider() {
  const chosen = providerSelect && providerSelect.selectedOptions[0];
  if (!chosen || !languageSelect) return;
  const languages = (chosen.dataset.languages || "en").split(" ");
  const previous = languageSelect.value;
  let names = null;
  try { names = new Intl.DisplayNames([navigator.language || "en"], { type: "language" }); } catch { /* codes only */ }
  languageSelect.replaceChildren(...languages.map((code) => new Option(names ? `${names.of(code)} (${code})` : code, code)));
  languageSelect.value = languages.includes(previous) ? previous : languages[0];
  if (!strategySelect) return;
  const manual = strategySelect.querySelector('option[value="manual"]');
  manual.disabled = chosen.dataset.manualCommit !== "true";
  if (manual.disabled && strategySelect.value === "manual") strategySelect.value = "vad";
}
if (providerSelect) providerSelect.addEventListener("change", fitOptionsToProvider);
fitOptionsToProvider();

recordButton.addEventListener("click", () => (session ? stopRecording() : startRecording()));
commitButton?.addEventListener("click", () => {
  if (session && session.socket) session.socket.send(JSON.stringify({ type: "commit" }));
});
document.addEventListener("keydown", (event) => {
  if (event.altKey && (event.key === "r" || event.key === "R")) {
    event.preventDefault();
    recordButton.click();
  }
});
