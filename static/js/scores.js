// Scored sentences: tapping a word shows its phonemes (hover shows them too) and plays the
// stretch of the learner's own audio where that word was said.
document.addEventListener("click", (event) => {
  const word = event.target.closest(".word");
  document.querySelectorAll('.word[aria-expanded="true"]').forEach((other) => {
    if (other !== word) other.setAttribute("aria-expanded", "false");
  });
  if (!word) return;
  word.setAttribute("aria-expanded", word.getAttribute("aria-expanded") === "true" ? "false" : "true");
  const player = word.closest(".assessment")?.querySelector("audio.attempt-audio");
  if (!player || word.dataset.start === undefined) return;
  const start = parseFloat(word.dataset.start);
  const end = parseFloat(word.dataset.end);
  // A little context either side: a word cut exactly at its edges sounds clipped.
  player.currentTime = Math.max(0, start - 0.1);
  player.dataset.stopAt = String(end + 0.1);
  player.play();
});

document.addEventListener("timeupdate", (event) => {
  const player = event.target;
  if (!(player instanceof HTMLAudioElement) || !player.dataset.stopAt) return;
  if (player.currentTime >= parseFloat(player.dataset.stopAt)) {
    player.pause();
    delete player.dataset.stopAt;
  }
}, true);

document.addEventListener("keydown", (event) => {
  if (event.key === "Escape") {
    document.querySelectorAll('.word[aria-expanded="true"]').forEach((word) => word.setAttribute("aria-expanded", "false"));
  }
});
