// The upload form: a progress bar while the file travels (htmx reports XHR upload progress);
// the server's fragment then shows processing progress and, at the end, the result.
document.addEventListener("htmx:xhr:progress", (event) => {
  const form = event.target.closest("#upload-form");
  if (!form || !event.detail.lengthComputable) return;
  form.querySelector(".upload-progress").hidden = false;
  form.querySelector("#upload-progress").value = Math.round((event.detail.loaded / event.detail.total) * 100);
});
