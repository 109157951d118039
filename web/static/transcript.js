// The transcript beside a recording: the word being spoken is highlighted as the audio plays,
// and clicking a word seeks to it. Words carry their times: <span class="w" data-start data-end>.
"use strict";

function highlightSpoken(audio) {
  const words = document.querySelectorAll("#transcript .w");
  const t = audio.currentTime;
  let current = null;
  words.forEach((w) => { if (parseFloat(w.dataset.start) <= t) current = w; });
  if (current && t > parseFloat(current.dataset.end) + 0.5) current = null;  // a pause
  words.forEach((w) => w.classList.toggle("spoken", w === current));
  if (current) current.scrollIntoView({block: "nearest"});
}

// timeupdate and seeked do not bubble: listen while they go down (capture).
["timeupdate", "seeked"].forEach((name) => document.addEventListener(name, (event) => {
  if (event.target.id === "audio") highlightSpoken(event.target);
}, true));

document.addEventListener("click", (event) => {
  const word = event.target.closest("#transcript .w");
  const audio = document.getElementById("audio");
  if (!word || !audio) return;
  audio.currentTime = parseFloat(word.dataset.start);
  audio.play();
});
