// Recording page: clicking a segment plays the audio from that segment's start.
document.addEventListener("click", (event) => {
  const target = event.target.closest("[data-seek]");
  const player = (document.getElementById("player") || document.querySelector("audio.attempt-audio"));
  if (!target || !player) return;
  player.currentTime = parseFloat(target.dataset.seek);
  player.play();
});
