// Relay's attachment upload, shared by the console and the widget (which loads it only when a
// visitor picks a file): admit → upload (S3's POST form or the local gateway's signed PUT,
// with progress) → complete (R18, R19). Browsers get `RelayUploads`; node's tests require it.
(function (root, factory) {
  "use strict";
  if (typeof module === "object" && module.exports) module.exports = factory();
  else root.RelayUploads = factory();
})(typeof self !== "undefined" ? self : this, function () {
  "use strict";

  const failure = (code, status, reason) => Object.assign(new Error(code), { code, status, reason });

  /** Sends the bytes where the admission said, reporting progress from 0 to 1. */
  function put(target, file, onProgress, XHR) {
    return new Promise((resolve, reject) => {
      const xhr = new XHR();
      xhr.open(target.method, target.url);
      let payload = file;
      if (target.method === "POST") {
        payload = new FormData();
        for (const [k, v] of Object.entries(target.fields || {})) payload.append(k, v);
        payload.append("file", file);
      } else {
        for (const [k, v] of Object.entries(target.headers || {})) {
          if (k.toLowerCase() !== "content-length") xhr.setRequestHeader(k, v);
        }
      }
      xhr.upload.onprogress = (e) => e.lengthComputable && onProgress(e.loaded / e.total);
      xhr.onload = () => (xhr.status < 300 ? (onProgress(1), resolve()) : reject(failure("upload_failed", xhr.status)));
      xhr.onerror = () => reject(failure("upload_failed", 0));
      xhr.send(payload);
    });
  }

  /**
   * Uploads `file` to conversation `conversationId` with `request` (the core's HTTP) and
   * resolves with the clean attachment's id; rejects with `code` "rejected" (and the
   * server's `reason`) when the file is refused after upload, "upload_failed" when the bytes
   * did not get there, or the API's error.
   */
  async function sendFile({ request, conversationId, file, onProgress, XMLHttpRequest: XHR }) {
    const base = `/v1/conversations/${conversationId}/attachments`;
    const admitted = await request("POST", base, {
      file_name: file.name,
      content_type: file.type || "application/octet-stream",
      size: file.size,
    });
    await put(admitted.upload, file, onProgress || (() => {}), XHR || XMLHttpRequest);
    const done = await request("POST", `${base}/${admitted.attachment_id}/complete`, {});
    if (done.status !== "clean") throw failure("rejected", 422, done.reason);
    return admitted.attachment_id;
  }

  return { sendFile };
});
