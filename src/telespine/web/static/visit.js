// The video visit (telespine.web.visits): camera and microphone check, waiting room, WebRTC
// call with mute / camera / sound-only, in-call chat and "call me instead". Plain JS, no
// framework. Media goes peer to peer (or through the TURN relay); nothing is recorded.
(function () {
  "use strict";
  var root = document.getElementById("visit");
  if (!root) { return; }
  var config = JSON.parse(root.getAttribute("data-config"));
  var $ = function (id) { return document.getElementById(id); };
  var state = { pc: null, socket: null, stream: null, offerer: false, pending: [], audioOnly: false,
                join: null, rtt: [] };
  window.tsVisit = state;  // read by the browser tests and the benchmark

  function status(text) { $("status").textContent = text; }
  function show(id, on) { $(id).hidden = !on; }

  // --- camera and microphone check --------------------------------------------------------
  function meter(stream) {
    try {
      var Ctx = window.AudioContext || window.webkitAudioContext;
      var ctx = new Ctx();
      var analyser = ctx.createAnalyser();
      ctx.createMediaStreamSource(stream).connect(analyser);
      var data = new Uint8Array(analyser.fftSize);
      var tick = function () {
        analyser.getByteTimeDomainData(data);
        var peak = 0;
        for (var i = 0; i < data.length; i++) { peak = Math.max(peak, Math.abs(data[i] - 128) / 128); }
        $("level").value = peak;
        window.setTimeout(tick, 200);
      };
      tick();
    } catch (e) { /* no level meter: the check text still says what works */ }
  }

  function check() {
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      status("This browser cannot make video calls. Use Call me instead, or try another browser.");
      return;
    }
    navigator.mediaDevices.getUserMedia({ audio: true, video: true }).then(function (stream) {
      state.stream = stream;
      $("preview").srcObject = stream;
      meter(stream);
      $("check-result").textContent = "Camera and microphone work. Speak and watch the bar move.";
      $("join").disabled = false;
      status("Ready. Press Join when you are ready.");
    }).catch(function () {
      navigator.mediaDevices.getUserMedia({ audio: true }).then(function (stream) {
        state.stream = stream;
        state.audioOnly = true;
        meter(stream);
        $("check-result").textContent = "We could not use your camera. You can join with sound only.";
        status("Camera not found. Join with sound only, or use Call me instead.");
      }).catch(function () {
        $("check-result").textContent = "We could not use your camera or microphone. Allow them in the browser, or use Call me instead.";
        status("No camera or microphone. Use Call me instead.");
      });
    });
  }

  // --- signalling ---------------------------------------------------------------------------
  function send(msg) {
    if (state.socket && state.socket.readyState === 1) { state.socket.send(JSON.stringify(msg)); }
  }

  function connect(audioOnly) {
    if (audioOnly && state.stream) { dropVideo(); }
    $("join").disabled = true;
    $("join-audio").disabled = true;
    status("Connecting…");
    fetch(config.join, { credentials: "same-origin", headers: { "accept": "application/json" } })
      .then(function (r) {
        if (!r.ok) { throw new Error("join " + r.status); }
        return r.json();
      })
      .then(function (info) {
        state.join = info;
        var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
        var url = scheme + window.location.host + info.ws_path + "?token=" + encodeURIComponent(info.token);
        var socket = new WebSocket(url);
        state.socket = socket;
        socket.onmessage = function (ev) { onMessage(JSON.parse(ev.data)); };
        socket.onclose = function () {
          if (state.socket === socket) { status("The connection to the visit closed. Reload the page to join again."); }
        };
        show("check", false);
        show("waiting", true);
        $("chat-send").disabled = false;
        window.setInterval(function () { send({ type: "ping", t: performance.now() }); }, 5000);
      })
      .catch(function () {
        status("We could not join the visit. Reload the page, or use Call me instead.");
        $("join").disabled = false;
        $("join-audio").disabled = false;
      });
  }

  function onMessage(msg) {
    switch (msg.type) {
      case "joined":
        status(config.role === "clinician" ? "You are in the visit." : "You are in the waiting room.");
        break;
      case "waiting":
        status("Please wait. Your clinician will let you in.");
        break;
      case "waiting-room":
        if (config.role === "clinician") {
          $("waiting-who").textContent = msg.waiting ? msg.name + " is waiting." : "Nobody is waiting yet.";
          $("admit").disabled = !msg.waiting;
          if (msg.waiting) { status(msg.name + " is waiting to be let in."); }
        }
        break;
      case "admitted":
        status("Your clinician let you in. Connecting the call…");
        break;
      case "start":
        start(msg.offerer);
        break;
      case "signal":
        onSignal(msg.data);
        break;
      case "media":
        $("remote-state").textContent = msg.state.audio_only ? "Sound only." :
          (msg.state.video === false ? "Camera is off." : "") + (msg.state.audio === false ? " Microphone is muted." : "");
        break;
      case "peer-left":
        status(config.role === "clinician" ? "The other person left the call." : "Your clinician left the call. Please wait.");
        closePc();
        show("call", false);
        show("waiting", true);
        break;
      case "chat":
        chatLine(msg);
        break;
      case "chat-failed":
        status("Your chat message could not be saved. If you feel worse, call for help now.");
        show("safety", true);
        break;
      case "safety":
        var list = $("safety-signs");
        list.textContent = "";
        (msg.signs || []).forEach(function (s) { var li = document.createElement("li"); li.textContent = s; list.appendChild(li); });
        show("safety", true);
        $("safety").focus();
        break;
      case "flagged":
        status("A chat message from the patient may describe a red flag. Check it now.");
        break;
      case "call-me":
        $("callback-phone").textContent = "";
        var a = document.createElement("a");
        a.href = "tel:" + msg.phone;
        a.textContent = msg.phone;
        $("callback-phone").append(msg.name + " asks you to phone instead: ", a);
        status(msg.name + " asks you to phone: " + msg.phone);
        break;
      case "call-me-sent":
        status("Your clinician will phone you at that number.");
        break;
      case "pong":
        if (typeof msg.t === "number") { state.rtt.push(performance.now() - msg.t); }
        break;
      case "replaced":
        state.socket = null;
        status("You joined this visit in another window. This window is no longer in the call.");
        closePc();
        break;
      case "error":
        if (msg.error === "phone") { status("Check the phone number and try again."); }
        break;
    }
  }

  // --- the peer connection -----------------------------------------------------------------
  function closePc() {
    if (state.pc) { state.pc.close(); }
    state.pc = null;
    state.pending = [];
  }

  function start(offerer) {
    closePc();
    state.offerer = offerer;
    var info = state.join;
    var policy = config.relay ? "relay" : info.ice_transport_policy;
    var pc = new RTCPeerConnection({ iceServers: info.ice_servers, iceTransportPolicy: policy });
    state.pc = pc;
    if (state.stream) {
      state.stream.getTracks().forEach(function (t) { pc.addTrack(t, state.stream); });
    }
    if (!state.stream || state.stream.getVideoTracks().length === 0) {
      pc.addTransceiver("video", { direction: "recvonly" });
    }
    if (!state.stream || state.stream.getAudioTracks().length === 0) {
      pc.addTransceiver("audio", { direction: "recvonly" });
    }
    pc.onicecandidate = function (ev) { if (ev.candidate) { send({ type: "signal", data: { candidate: ev.candidate.toJSON() } }); } };
    pc.ontrack = function (ev) {
      var remote = $("remote");
      if (remote.srcObject !== ev.streams[0]) { remote.srcObject = ev.streams[0] || new MediaStream([ev.track]); }
    };
    pc.onconnectionstatechange = function () {
      if (pc.connectionState === "connected") { status("You are connected."); }
      if (pc.connectionState === "failed") { status("The call could not connect. Use Call me instead, or reload the page."); }
    };
    $("local").srcObject = state.stream;
    show("waiting", false);
    show("call", true);
    status("Connecting the call…");
    sendMedia();
    if (offerer) {
      pc.createOffer().then(function (offer) { return pc.setLocalDescription(offer); })
        .then(function () { send({ type: "signal", data: { description: pc.localDescription.toJSON() } }); });
    }
  }

  function onSignal(data) {
    var pc = state.pc;
    if (!pc) { return; }
    if (data.description) {
      pc.setRemoteDescription(data.description).then(function () {
        state.pending.forEach(function (c) { pc.addIceCandidate(c).catch(function () {}); });
        state.pending = [];
        if (data.description.type === "offer") {
          return pc.createAnswer().then(function (answer) { return pc.setLocalDescription(answer); })
            .then(function () { send({ type: "signal", data: { description: pc.localDescription.toJSON() } }); });
        }
        return null;
      });
    } else if (data.candidate) {
      if (pc.remoteDescription) { pc.addIceCandidate(data.candidate).catch(function () {}); }
      else { state.pending.push(data.candidate); }
    }
  }

  // --- controls ------------------------------------------------------------------------------
  function track(kind) {
    if (!state.stream) { return null; }
    var list = kind === "audio" ? state.stream.getAudioTracks() : state.stream.getVideoTracks();
    return list.length ? list[0] : null;
  }

  function sendMedia() {
    var a = track("audio"), v = track("video");
    send({ type: "media", state: { audio: !!(a && a.enabled), video: !!(v && v.enabled), audio_only: state.audioOnly } });
  }

  function dropVideo() {
    var v = track("video");
    if (v) { v.stop(); state.stream.removeTrack(v); }
    if (state.pc) {
      state.pc.getSenders().forEach(function (s) { if (s.track === null || (s.track && s.track.kind === "video")) { s.replaceTrack(null); } });
    }
    state.audioOnly = true;
  }

  $("mute").addEventListener("click", function () {
    var a = track("audio");
    if (!a) { return; }
    a.enabled = !a.enabled;
    this.setAttribute("aria-pressed", String(!a.enabled));
    this.textContent = a.enabled ? "Mute" : "Unmute";
    sendMedia();
  });

  $("camera").addEventListener("click", function () {
    var v = track("video");
    if (!v) { return; }
    v.enabled = !v.enabled;
    this.setAttribute("aria-pressed", String(!v.enabled));
    this.textContent = v.enabled ? "Turn camera off" : "Turn camera on";
    sendMedia();
  });

  $("audio-only").addEventListener("click", function () {
    var button = this;
    if (!state.audioOnly) {
      dropVideo();
      button.setAttribute("aria-pressed", "true");
      button.textContent = "Use video again";
      $("local").srcObject = null;
      sendMedia();
      return;
    }
    navigator.mediaDevices.getUserMedia({ video: true }).then(function (cam) {
      var v = cam.getVideoTracks()[0];
      state.stream.addTrack(v);
      state.audioOnly = false;
      if (state.pc) {
        var sender = state.pc.getSenders().find(function (s) { return s.track === null || (s.track && s.track.kind === "video"); });
        if (sender) { sender.replaceTrack(v); }
      }
      $("local").srcObject = state.stream;
      button.setAttribute("aria-pressed", "false");
      button.textContent = "Sound only";
      sendMedia();
    }).catch(function () { status("We could not turn the camera back on."); });
  });

  $("leave").addEventListener("click", function () {
    closePc();
    var socket = state.socket;
    state.socket = null;
    if (socket) { socket.close(); }
    if (state.stream) { state.stream.getTracks().forEach(function (t) { t.stop(); }); }
    show("call", false);
    status("You left the visit.");
  });

  var admit = $("admit");
  if (admit) { admit.addEventListener("click", function () { send({ type: "admit" }); admit.disabled = true; }); }

  var callMe = $("call-me");
  if (callMe) {
    callMe.addEventListener("click", function () {
      var phone = $("phone").value.trim();
      if (!state.socket) {
        status("Join the visit first, then ask for a phone call. Or send the number in a message to your care team.");
        return;
      }
      send({ type: "call-me", phone: phone });
    });
  }

  // --- chat -----------------------------------------------------------------------------------
  function chatLine(msg) {
    var li = document.createElement("li");
    li.textContent = (msg.from === config.role ? "You" : msg.name) + ": " + msg.text;
    if (msg.flagged && config.role === "clinician") { li.className = "flagged"; li.textContent += " (red flag?)"; }
    $("chat-lines").appendChild(li);
  }

  function sendChat() {
    var input = $("chat-text");
    var text = input.value.trim();
    if (!text) { return; }
    send({ type: "chat", text: text });
    input.value = "";
  }
  $("chat-send").addEventListener("click", sendChat);
  $("chat-text").addEventListener("keydown", function (ev) { if (ev.key === "Enter") { sendChat(); } });

  $("join").addEventListener("click", function () { connect(false); });
  $("join-audio").addEventListener("click", function () { connect(true); });
  check();
})();
