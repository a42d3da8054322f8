// Relay's client core, shared by the widget and the console: HTTP with retries, the socket
// with back-off and frame dedupe, catch-up, the message log (docs/decisions.md). Browsers get
// `RelayCore`; node's tests require it (core.test.js).
(function (root, factory) {
  "use strict";
  if (typeof module === "object" && module.exports) module.exports = factory();
  else root.RelayCore = factory();
})(typeof self !== "undefined" ? self : this, function () {
  "use strict";

  // The API's stable `code`, or "network" when nothing answered.
  class ApiError extends Error {
    constructor(status, code, message, retryAfter) {
      super(message);
      this.status = status;
      this.code = code;
      this.retryAfter = retryAfter || 0;
    }
  }

  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
  const transient = (status) => status === 0 || status === 429 || status === 502 || status === 503 || status === 504;
  const SAFE = ["GET", "HEAD", "PUT", "DELETE"];

  // Retried (300 ms, 600 ms or Retry-After ≤ 10 s) only when transient and harmless to repeat:
  // safe methods and POSTs marked `retry` (R14's client_message_id). `extra.token` overrides.
  function createHttp(options) {
    const base = options.base.replace(/\/$/, "");
    const doFetch = options.fetch || ((...args) => fetch(...args));
    const wait = options.sleep || sleep;
    const retries = options.retries === undefined ? 2 : options.retries;
    return async function request(method, path, body, extra) {
      extra = extra || {};
      const repeatable = extra.retry || SAFE.includes(method);
      for (let attempt = 0; ; attempt++) {
        try {
          return await once(method, path, body, extra);
        } catch (error) {
          if (!(repeatable && attempt < retries && transient(error.status))) throw error;
          await wait(Math.min(10000, error.retryAfter * 1000 || 300 * 2 ** attempt));
        }
      }
    };

    async function once(method, path, body, extra) {
      const headers = Object.assign({}, extra.headers);
      if (body !== undefined) headers["content-type"] = "application/json";
      const bearer = "token" in extra ? extra.token : options.token && options.token();
      if (bearer) headers.authorization = "Bearer " + bearer;
      let response;
      try {
        response = await doFetch(base + path, {
          method,
          headers,
          body: body === undefined ? undefined : JSON.stringify(body),
          credentials: "omit",
        });
      } catch (e) {
        throw new ApiError(0, "network", options.networkMessage || "Cannot reach the server.");
      }
      const text = await response.text();
      let json = {};
      try {
        json = text ? JSON.parse(text) : {};
      } catch (e) {
        json = {};
      }
      if (!response.ok) {
        const error = json.error || {};
        throw new ApiError(
          response.status,
          error.code || "http_" + response.status,
          error.message || "HTTP " + response.status,
          Number(response.headers.get("retry-after")) || 0
        );
      }
      return json;
    }
  }

  // One conversation's messages, oldest first, each seq once (delivery is at least once).
  class MessageLog {
    constructor(conversationId) {
      this.conversationId = conversationId;
      this.messages = [];
      this.lastSeq = 0;
    }
    add(m) {
      if (!m || m.conversation_id !== this.conversationId) return false;
      if (this.messages.some((x) => x.seq === m.seq)) return false;
      this.messages.push(m);
      this.messages.sort((a, b) => a.seq - b.seq);
      this.lastSeq = Math.max(this.lastSeq, m.seq);
      return true;
    }
    // A redaction replaces its seq in place.
    replace(m) {
      if (!m || m.conversation_id !== this.conversationId) return false;
      const i = this.messages.findIndex((x) => x.seq === m.seq);
      if (i < 0) return this.add(m);
      this.messages[i] = m;
      return true;
    }
    get oldestSeq() {
      return this.messages.length ? this.messages[0].seq : 0;
    }
  }

  // Everything after the log's last seq, page by page; returns how many were new.
  async function catchUp(request, log, pageSize) {
    pageSize = pageSize || 100;
    let added = 0;
    for (;;) {
      const path = `/v1/conversations/${log.conversationId}/messages?after_seq=${log.lastSeq}&limit=${pageSize}`;
      const page = await request("GET", path);
      const messages = page.messages || [];
      for (const m of messages) if (log.add(m)) added++;
      if (messages.length < pageSize) return added;
    }
  }

  // The socket: `url()` read at each (re)connect; repeated frame ids (last 500) dropped;
  // reconnects after 0.5 s doubling to 15 s. onUp: catch up; onDown: poll. close(): for good.
  function connectSocket(options) {
    const WS = options.WebSocket || WebSocket;
    const later = options.setTimeout || setTimeout;
    const seen = [];
    let socket = null;
    let up = false;
    let stopped = false;
    let delay = 500;
    const connection = {
      get up() {
        return up;
      },
      send(frame) {
        if (!up) return false;
        socket.send(JSON.stringify(frame));
        return true;
      },
      // Reconnects at once (the token changed).
      restart() {
        if (socket) socket.close();
      },
      close() {
        stopped = true;
        if (socket) socket.close();
      },
    };
    function open() {
      if (stopped) return;
      try {
        socket = new WS(options.url());
      } catch (e) {
        if (options.onDown) options.onDown();
        return retry();
      }
      socket.onopen = () => {
        up = true;
        delay = 500;
        if (options.onUp) options.onUp();
      };
      socket.onmessage = (event) => {
        let frame;
        try {
          frame = JSON.parse(event.data);
        } catch (e) {
          return;
        }
        if (frame.id) {
          if (seen.includes(frame.id)) return;
          seen.push(frame.id);
          if (seen.length > 500) seen.shift();
        }
        options.onFrame(frame);
      };
      socket.onclose = () => {
        up = false;
        if (options.onDown) options.onDown();
        retry();
      };
    }
    function retry() {
      if (stopped) return;
      later(open, delay);
      delay = Math.min(delay * 2, 15000);
    }
    open();
    return connection;
  }

  // A version 4 UUID, never from Math.random.
  function uuid() {
    if (crypto.randomUUID) return crypto.randomUUID();
    const b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    const h = Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  }

  return { ApiError, createHttp, MessageLog, catchUp, connectSocket, uuid };
});
