/*
 * Telling an agent about new offers (30 s to accept) when they look elsewhere: the page
 * title counts them, a short tone plays (muted with the header's Sound toggle, remembered in
 * this browser), and a desktop notification shows once the agent allowed them (the Desktop
 * alerts button asks). Screen readers hear offers from console.js's live region.
 */
window.RelayAlerts = (function () {
  "use strict";
  const $ = (id) => document.getElementById(id);
  const { t } = window.RelayConsoleI18n;
  const SOUND = "relay-console-sound";
  let audio = null;
  const soundOn = () => localStorage.getItem(SOUND) !== "off";

  function tone() {
    if (!soundOn()) return;
    try {
      audio = audio || new AudioContext();
      const oscillator = audio.createOscillator();
      const gain = audio.createGain();
      oscillator.frequency.value = 880;
      gain.gain.value = 0.08;
      oscillator.connect(gain).connect(audio.destination);
      oscillator.start();
      oscillator.stop(audio.currentTime + 0.2);
    } catch (e) {
      /* no audio on this machine */
    }
  }

  function renderButtons() {
    const sound = $("sound-toggle");
    sound.setAttribute("aria-pressed", String(soundOn()));
    sound.textContent = t(soundOn() ? "soundOn" : "soundOff");
    const desktop = $("desktop-alerts");
    desktop.hidden = !("Notification" in window) || Notification.permission !== "default";
  }

  $("sound-toggle").addEventListener("click", () => {
    localStorage.setItem(SOUND, soundOn() ? "off" : "on");
    renderButtons();
  });
  $("desktop-alerts").addEventListener("click", async () => {
    await Notification.requestPermission();
    renderButtons();
  });
  renderButtons();

  let offers = 0;
  return {
    /** The standing offers' count, in the page's title: "(2) Relay agent console". */
    count(n) {
      offers = n;
      document.title = n ? `(${n}) ${t("pageTitle")}` : t("pageTitle");
    },
    /** Again in the language just chosen. */
    render() {
      renderButtons();
      this.count(offers);
    },
    /** A new offer: the tone and, when allowed, a desktop notification. */
    offer(text) {
      tone();
      if ("Notification" in window && Notification.permission === "granted") {
        const note = new Notification(t("notificationTitle"), { body: text, tag: "relay-offer" });
        note.onclick = () => window.focus();
      }
    },
  };
})();
