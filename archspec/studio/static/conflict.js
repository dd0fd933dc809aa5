// The dialog shown when a save finds the file changed on disk since it was opened: reload the
// disk's text (dropping the edits) or overwrite it with the editor's text.

/** Show the disk's text; resolves to "reload", "overwrite" or "cancel". */
export function openConflictDialog(diskText) {
  const dialog = document.getElementById("conflict");
  document.getElementById("conflict-disk").textContent = diskText;
  return new Promise((resolve) => {
    const done = (choice) => {
      dialog.close();
      resolve(choice);
    };
    dialog.querySelector("[data-choice=reload]").onclick = () => done("reload");
    dialog.querySelector("[data-choice=overwrite]").onclick = () => done("overwrite");
    dialog.querySelector("[data-choice=cancel]").onclick = () => done("cancel");
    dialog.oncancel = () => resolve("cancel");  // Escape closes it
    dialog.showModal();
  });
}
